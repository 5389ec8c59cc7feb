import { DashboardOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/",
    page: () => import("./OverviewPage"),
    menu: { labelKey: "overview:menu", icon: <DashboardOutlined />, order: 0 },
  },
];
