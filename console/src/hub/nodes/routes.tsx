import { ClusterOutlined, DashboardOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/",
    page: () => import("./HubOverviewPage"),
    menu: {
      labelKey: "nodes:overviewMenu",
      icon: <DashboardOutlined />,
      order: 10,
      visible: (viewer) => viewer.can.readNodes !== false,
    },
  },
  {
    path: "/nodes",
    page: () => import("./NodesPage"),
    menu: {
      labelKey: "nodes:menu",
      icon: <ClusterOutlined />,
      order: 11,
      visible: (viewer) => viewer.can.readNodes !== false,
    },
  },
  { path: "/nodes/:name", page: () => import("./NodePage") },
];
