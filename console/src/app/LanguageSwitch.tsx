import { Segmented } from "antd";
import { useTranslation } from "react-i18next";
import { changeLanguage, type Language } from "../i18n";

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <Segmented<Language>
      size="small"
      aria-label={t("language.label")}
      value={i18n.language as Language}
      onChange={(value) => void changeLanguage(value)}
      options={[
        { value: "zh-CN", label: <span lang="zh-CN">中文</span> },
        { value: "en", label: <span lang="en">English</span> },
      ]}
    />
  );
}
