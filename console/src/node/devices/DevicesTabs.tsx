import { Tabs } from "antd";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useViewer } from "../../auth/useViewer";

/** The devices list and the dead letters, side by side (the latter for who may read them). */
export function DevicesTabs({ active }: { active: "devices" | "deadLetters" }) {
  const { t } = useTranslation("devices");
  const viewer = useViewer();
  const navigate = useNavigate();
  const items = [{ key: "devices", label: t("tabs.devices") }];
  if (viewer.can.readDeadLetters !== false) {
    items.push({ key: "deadLetters", label: t("tabs.deadLetters") });
  }
  return (
    <Tabs
      activeKey={active}
      items={items}
      onChange={(key) => navigate(key === "devices" ? "/devices" : "/devices/dead-letters")}
      style={{ marginTop: 8 }}
    />
  );
}
