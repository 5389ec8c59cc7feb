/** The board pages' logic: filters in the address, the post form's checks, the distance view. */

export type Side = "NEED" | "OFFER";
export type ResourceKind = "CAPACITY" | "MATERIAL";

export interface BoardFilters {
  side: Side | null;
  resource: ResourceKind | null;
  item: string;
  region: string | null;
  closed: boolean;
  mine: boolean;
}

const SIDES: readonly string[] = ["NEED", "OFFER"];
const RESOURCES: readonly string[] = ["CAPACITY", "MATERIAL"];

export function readBoardFilters(params: URLSearchParams): BoardFilters {
  const side = params.get("side");
  const resource = params.get("resource");
  return {
    side: side && SIDES.includes(side) ? (side as Side) : null,
    resource: resource && RESOURCES.includes(resource) ? (resource as ResourceKind) : null,
    item: (params.get("item") ?? "").trim().slice(0, 63),
    region: params.get("region") || null,
    closed: params.get("closed") === "1",
    mine: params.get("mine") === "1",
  };
}

export function writeBoardFilters(filters: BoardFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.side) params.set("side", filters.side);
  if (filters.resource) params.set("resource", filters.resource);
  if (filters.item) params.set("item", filters.item);
  if (filters.region) params.set("region", filters.region);
  if (filters.closed) params.set("closed", "1");
  if (filters.mine) params.set("mine", "1");
  return params;
}

export interface MatchFilters {
  /** Only matches at most this far, km; null: any distance. */
  maxKm: number | null;
  /** Only matches covering at least this share, 0 to 1; null: any. */
  minCoverage: number | null;
}

export const COVERAGE_STEPS = [0.25, 0.5, 0.75, 1] as const;

export function readMatchFilters(params: URLSearchParams): MatchFilters {
  const km = Number(params.get("km"));
  const coverage = Number(params.get("coverage"));
  return {
    maxKm: params.get("km") && Number.isFinite(km) && km > 0 && km <= 20_100 ? km : null,
    minCoverage:
      params.get("coverage") && Number.isFinite(coverage) && coverage > 0 && coverage <= 1
        ? coverage
        : null,
  };
}

export function writeMatchFilters(params: URLSearchParams, filters: MatchFilters) {
  const next = new URLSearchParams(params);
  if (filters.maxKm) next.set("km", String(filters.maxKm));
  else next.delete("km");
  if (filters.minCoverage) next.set("coverage", String(filters.minCoverage));
  else next.delete("coverage");
  return next;
}

/** The API's own patterns (hub/data_exchange/board/service.py), checked before sending. */
export const ITEM_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const UNIT_PATTERN = /^[a-z][a-z0-9./-]*$/;

/** Places manufacturers post from, to fill city, region and coordinates in one choice. */
export const PLACES: {
  key: string;
  city: { "zh-CN": string; en: string };
  region: string;
  latitude: number;
  longitude: number;
}[] = [
  {
    key: "shanghai",
    city: { "zh-CN": "上海", en: "Shanghai" },
    region: "CN-SH",
    latitude: 31.2304,
    longitude: 121.4737,
  },
  {
    key: "shenzhen",
    city: { "zh-CN": "深圳", en: "Shenzhen" },
    region: "CN-GD",
    latitude: 22.5431,
    longitude: 114.0579,
  },
  {
    key: "dongguan",
    city: { "zh-CN": "东莞", en: "Dongguan" },
    region: "CN-GD",
    latitude: 23.0207,
    longitude: 113.7518,
  },
  {
    key: "guangzhou",
    city: { "zh-CN": "广州", en: "Guangzhou" },
    region: "CN-GD",
    latitude: 23.1291,
    longitude: 113.2644,
  },
  {
    key: "ningbo",
    city: { "zh-CN": "宁波", en: "Ningbo" },
    region: "CN-ZJ",
    latitude: 29.8683,
    longitude: 121.544,
  },
  {
    key: "hangzhou",
    city: { "zh-CN": "杭州", en: "Hangzhou" },
    region: "CN-ZJ",
    latitude: 30.2741,
    longitude: 120.1551,
  },
  {
    key: "shaoxing",
    city: { "zh-CN": "绍兴", en: "Shaoxing" },
    region: "CN-ZJ",
    latitude: 30.03,
    longitude: 120.5802,
  },
  {
    key: "suzhou",
    city: { "zh-CN": "苏州", en: "Suzhou" },
    region: "CN-JS",
    latitude: 31.2989,
    longitude: 120.5853,
  },
  {
    key: "wuxi",
    city: { "zh-CN": "无锡", en: "Wuxi" },
    region: "CN-JS",
    latitude: 31.4912,
    longitude: 120.3119,
  },
  {
    key: "wuhan",
    city: { "zh-CN": "武汉", en: "Wuhan" },
    region: "CN-HB",
    latitude: 30.5928,
    longitude: 114.3055,
  },
  {
    key: "chongqing",
    city: { "zh-CN": "重庆", en: "Chongqing" },
    region: "CN-CQ",
    latitude: 29.563,
    longitude: 106.5516,
  },
  {
    key: "chengdu",
    city: { "zh-CN": "成都", en: "Chengdu" },
    region: "CN-SC",
    latitude: 30.5728,
    longitude: 104.0668,
  },
  {
    key: "qingdao",
    city: { "zh-CN": "青岛", en: "Qingdao" },
    region: "CN-SD",
    latitude: 36.0671,
    longitude: 120.3826,
  },
  {
    key: "tianjin",
    city: { "zh-CN": "天津", en: "Tianjin" },
    region: "CN-TJ",
    latitude: 39.3434,
    longitude: 117.3616,
  },
  {
    key: "xiamen",
    city: { "zh-CN": "厦门", en: "Xiamen" },
    region: "CN-FJ",
    latitude: 24.4798,
    longitude: 118.0894,
  },
];

export interface PostFormValues {
  side: Side;
  resource: ResourceKind;
  item: string;
  quantity: number;
  unit: string;
  availableFrom: string;
  availableTo: string;
  city: string;
  region: string;
  latitude: number;
  longitude: number;
  maxDistanceKm?: number | null;
  note?: string;
}

/** The mutation's input from the form, trimmed (the API checks it again and says why not). */
export function postingInput(values: PostFormValues) {
  return {
    side: values.side,
    resource: values.resource,
    item: values.item.trim(),
    quantity: values.quantity,
    unit: values.unit.trim(),
    availableFrom: values.availableFrom,
    availableTo: values.availableTo,
    city: values.city.trim(),
    region: values.region,
    latitude: values.latitude,
    longitude: values.longitude,
    maxDistanceKm: values.maxDistanceKm || null,
    note: (values.note ?? "").trim(),
  };
}

/** A day as the date input gives it, `offset` days from `from` (local calendar). */
export function isoDay(offset: number, from: Date = new Date()): string {
  const day = new Date(from.getFullYear(), from.getMonth(), from.getDate() + offset);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

export interface MatchPoint {
  id: string;
  name: string;
  city: string;
  distanceKm: number;
  coverage: number;
  quantity: number;
  unit: string;
  from: string;
}

/**
 * The distance view: each match a point at its distance (x, km) and coverage (y, %), sized by
 * what could change hands; the posting itself is the origin (0 km).
 */
export function distanceOption(
  points: MatchPoint[],
  labels: { distance: string; coverage: string; posting: string; matches: string },
  describe: (point: MatchPoint) => string,
) {
  const largest = Math.max(1, ...points.map((point) => point.quantity));
  const farthest = Math.max(10, ...points.map((point) => point.distanceKm));
  return {
    aria: { enabled: true },
    grid: { left: 64, right: points.length <= 12 ? 200 : 32, top: 40, bottom: 56 },
    legend: { top: 0 },
    tooltip: {
      trigger: "item",
      formatter: (params: { seriesIndex: number; dataIndex: number }) => {
        if (params.seriesIndex === 0) return labels.posting;
        const point = points[params.dataIndex];
        return point ? describe(point) : "";
      },
    },
    xAxis: {
      type: "value",
      name: labels.distance,
      nameLocation: "middle",
      nameGap: 32,
      min: 0,
      max: Math.ceil((farthest * 1.1) / 100) * 100,
    },
    yAxis: {
      type: "value",
      name: labels.coverage,
      nameLocation: "middle",
      nameGap: 44,
      min: 0,
      max: 100,
    },
    series: [
      {
        name: labels.posting,
        type: "scatter",
        symbol: "pin",
        symbolSize: 28,
        data: [[0, 100]],
        z: 3,
      },
      {
        name: labels.matches,
        type: "scatter",
        data: points.map((point) => ({
          value: [Math.round(point.distanceKm), Math.round(point.coverage * 1000) / 10],
          symbolSize: 10 + 30 * Math.sqrt(point.quantity / largest),
        })),
        label: {
          show: points.length <= 12,
          position: "right",
          formatter: (params: { dataIndex: number }) => points[params.dataIndex]?.name ?? "",
        },
      },
    ],
  };
}
