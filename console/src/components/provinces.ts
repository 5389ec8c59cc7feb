/**
 * China's provincial-level divisions by ISO 3166-2 code (GB/T 2260 names), for showing a node's
 * region as a place rather than a code. Codes outside the table are shown as they are.
 */
const PROVINCES: Record<string, { "zh-CN": string; en: string }> = {
  "CN-AH": { "zh-CN": "安徽", en: "Anhui" },
  "CN-BJ": { "zh-CN": "北京", en: "Beijing" },
  "CN-CQ": { "zh-CN": "重庆", en: "Chongqing" },
  "CN-FJ": { "zh-CN": "福建", en: "Fujian" },
  "CN-GD": { "zh-CN": "广东", en: "Guangdong" },
  "CN-GS": { "zh-CN": "甘肃", en: "Gansu" },
  "CN-GX": { "zh-CN": "广西", en: "Guangxi" },
  "CN-GZ": { "zh-CN": "贵州", en: "Guizhou" },
  "CN-HA": { "zh-CN": "河南", en: "Henan" },
  "CN-HB": { "zh-CN": "湖北", en: "Hubei" },
  "CN-HE": { "zh-CN": "河北", en: "Hebei" },
  "CN-HI": { "zh-CN": "海南", en: "Hainan" },
  "CN-HK": { "zh-CN": "香港", en: "Hong Kong" },
  "CN-HL": { "zh-CN": "黑龙江", en: "Heilongjiang" },
  "CN-HN": { "zh-CN": "湖南", en: "Hunan" },
  "CN-JL": { "zh-CN": "吉林", en: "Jilin" },
  "CN-JS": { "zh-CN": "江苏", en: "Jiangsu" },
  "CN-JX": { "zh-CN": "江西", en: "Jiangxi" },
  "CN-LN": { "zh-CN": "辽宁", en: "Liaoning" },
  "CN-MO": { "zh-CN": "澳门", en: "Macao" },
  "CN-NM": { "zh-CN": "内蒙古", en: "Inner Mongolia" },
  "CN-NX": { "zh-CN": "宁夏", en: "Ningxia" },
  "CN-QH": { "zh-CN": "青海", en: "Qinghai" },
  "CN-SC": { "zh-CN": "四川", en: "Sichuan" },
  "CN-SD": { "zh-CN": "山东", en: "Shandong" },
  "CN-SH": { "zh-CN": "上海", en: "Shanghai" },
  "CN-SN": { "zh-CN": "陕西", en: "Shaanxi" },
  "CN-SX": { "zh-CN": "山西", en: "Shanxi" },
  "CN-TJ": { "zh-CN": "天津", en: "Tianjin" },
  "CN-TW": { "zh-CN": "台湾", en: "Taiwan" },
  "CN-XJ": { "zh-CN": "新疆", en: "Xinjiang" },
  "CN-XZ": { "zh-CN": "西藏", en: "Tibet" },
  "CN-YN": { "zh-CN": "云南", en: "Yunnan" },
  "CN-ZJ": { "zh-CN": "浙江", en: "Zhejiang" },
};

export const PROVINCE_CODES = Object.keys(PROVINCES).sort();

/** "广东" / "Guangdong" for CN-GD; null for a code the table does not know. */
export function provinceName(code: string, language: string): string | null {
  const names = PROVINCES[code.toUpperCase()];
  if (!names) return null;
  return language.startsWith("zh") ? names["zh-CN"] : names.en;
}

/** "广东 (CN-GD)", or the code alone when unknown. */
export function regionLabel(code: string, language: string): string {
  const name = provinceName(code, language);
  return name ? `${name} (${code})` : code;
}
