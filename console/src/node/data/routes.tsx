import { AuditOutlined, DatabaseOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/data",
    page: () => import("./DataPage"),
    menu: {
      labelKey: "data:menu",
      icon: <DatabaseOutlined />,
      order: 80,
      visible: (viewer) =>
        viewer.can.readDataProducts !== false || viewer.can.readInstallations !== false,
    },
  },
  {
    path: "/audit",
    page: () => import("./AuditPage"),
    menu: {
      labelKey: "data:auditMenu",
      icon: <AuditOutlined />,
      order: 90,
      visible: (viewer) => viewer.can.readAudit !== false,
    },
  },
];
