import { AlertOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

const inbox = () => import("./AlertsInboxPage");

export const routes: AreaRoute[] = [
  {
    path: "/alerts",
    page: inbox,
    menu: {
      labelKey: "alerts:menu",
      icon: <AlertOutlined />,
      order: 40,
      visible: (viewer) => viewer.can.readAlerts !== false,
    },
  },
  { path: "/alerts/rules", page: () => import("./RulesPage") },
  { path: "/alerts/contact-points", page: () => import("./ContactPointsPage") },
  { path: "/alerts/:id", page: inbox },
];
