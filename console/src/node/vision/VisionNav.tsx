import { Menu } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useSearchParams } from "react-router";
import { useViewer } from "../../auth/useViewer";

/** The vision pages' own tabs; the chosen factory travels along. */
export function VisionNav() {
  const { t } = useTranslation("vision");
  const viewer = useViewer();
  const { pathname } = useLocation();
  const [params] = useSearchParams();
  const factory = params.get("factory");
  const suffix = factory ? `?factory=${encodeURIComponent(factory)}` : "";
  const items = [
    { key: "/vision", label: <Link to={`/vision${suffix}`}>{t("nav.stations")}</Link> },
    {
      key: "/vision/models",
      label: <Link to={`/vision/models${suffix}`}>{t("nav.models")}</Link>,
    },
    ...(viewer.can.trainVisionModels === false
      ? []
      : [
          {
            key: "/vision/train",
            label: <Link to={`/vision/train${suffix}`}>{t("nav.train")}</Link>,
          },
        ]),
    {
      key: "/vision/root-cause",
      label: <Link to={`/vision/root-cause${suffix}`}>{t("nav.rootCause")}</Link>,
    },
  ];
  const selected = pathname.startsWith("/vision/models")
    ? "/vision/models"
    : pathname.startsWith("/vision/stations")
      ? "/vision"
      : pathname;
  return (
    <nav aria-label={t("nav.label")}>
      <Menu
        mode="horizontal"
        selectedKeys={[selected]}
        items={items}
        style={{ marginBottom: 16, background: "transparent" }}
      />
    </nav>
  );
}
