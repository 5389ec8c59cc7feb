import { LineChartOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

// C2M: the brands' demand (theirs for a brand, every brand's for the node operator). The API
// has no capability of its own for it yet: the brand reads it with the right to read orders.
export const routes: AreaRoute[] = [
  {
    path: "/demand",
    page: () => import("./ProductsPage"),
    menu: {
      labelKey: "demand:menu",
      icon: <LineChartOutlined />,
      order: 45,
      visible: (viewer) => viewer.can.readOrders !== false,
    },
  },
  { path: "/demand/products/new", page: () => import("./ProductEditPage") },
  { path: "/demand/products/:slug/edit", page: () => import("./ProductEditPage") },
  { path: "/demand/stock", page: () => import("./StockPage") },
  { path: "/demand/rules", page: () => import("./RulesPage") },
  { path: "/demand/sales", page: () => import("./SalesPage") },
  { path: "/demand/forecast", page: () => import("./ForecastPage") },
  { path: "/demand/plan", page: () => import("./PlanPage") },
];
