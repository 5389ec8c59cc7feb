import { Menu, Select, Space, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router";
import type { useBrand } from "./useBrand";

const PAGES = [
  { path: "/demand", key: "products" },
  { path: "/demand/stock", key: "stock" },
  { path: "/demand/rules", key: "rules" },
  { path: "/demand/sales", key: "sales" },
  { path: "/demand/forecast", key: "forecast" },
  { path: "/demand/plan", key: "plan" },
] as const;

/** The demand pages' tabs, and the brand they show; the chosen brand travels along. */
export function DemandNav({ picker }: { picker: ReturnType<typeof useBrand> }) {
  const { t } = useTranslation("demand");
  const { pathname } = useLocation();
  const suffix = picker.brand ? `?brand=${encodeURIComponent(picker.brand)}` : "";
  const options = picker.brands.map((id) => ({
    value: id,
    label: id === picker.own ? t("brand.yours", { id }) : id,
  }));
  if (picker.brand && !picker.brands.includes(picker.brand)) {
    options.push({ value: picker.brand, label: picker.brand });
  }
  return (
    <Space orientation="vertical" style={{ width: "100%", marginBottom: 16 }}>
      <nav aria-label={t("nav.label")}>
        <Menu
          mode="horizontal"
          selectedKeys={[pathname]}
          items={PAGES.map((page) => ({
            key: page.path,
            label: <Link to={`${page.path}${suffix}`}>{t(`nav.${page.key}`)}</Link>,
          }))}
          style={{ background: "transparent" }}
        />
      </nav>
      {options.length > 0 ? (
        <Space wrap>
          <Typography.Text id="demand-brand-label">{t("brand.label")}</Typography.Text>
          <Select
            aria-labelledby="demand-brand-label"
            value={picker.brand ?? undefined}
            onChange={(value: string) => picker.setBrand(value)}
            options={options}
            style={{ minWidth: 320 }}
            data-testid="demand-brand"
          />
        </Space>
      ) : null}
    </Space>
  );
}
