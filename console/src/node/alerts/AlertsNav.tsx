import { Tabs, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router";
import { useViewer } from "../../auth/useViewer";

/** The area's heading and its three pages: the inbox, the rules and the contact points. */
export function AlertsNav({ title }: { title: string }) {
  const { t } = useTranslation("alerts");
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const { can } = useViewer();
  const current = pathname.startsWith("/alerts/rules")
    ? "/alerts/rules"
    : pathname.startsWith("/alerts/contact-points")
      ? "/alerts/contact-points"
      : "/alerts";
  const items = [
    { key: "/alerts", label: t("nav.inbox") },
    { key: "/alerts/rules", label: t("nav.rules") },
    ...(can.manageContactPoints === false
      ? []
      : [{ key: "/alerts/contact-points", label: t("nav.contactPoints") }]),
  ];
  return (
    <div
      style={{ display: "flex", flexWrap: "wrap", gap: 16, alignItems: "center", marginBottom: 16 }}
    >
      <Typography.Title level={2} style={{ margin: 0 }}>
        {title}
      </Typography.Title>
      <nav aria-label={t("nav.label")}>
        <Tabs
          activeKey={current}
          items={items}
          onChange={(key) => navigate(key)}
          tabBarStyle={{ marginBottom: 0 }}
        />
      </nav>
    </div>
  );
}

export const SEVERITY_COLORS: Record<string, string> = {
  CRITICAL: "error",
  WARNING: "warning",
  INFO: "processing",
};

export const STATUS_COLORS: Record<string, string> = {
  OPEN: "error",
  ACKNOWLEDGED: "warning",
  CLOSED: "default",
};
