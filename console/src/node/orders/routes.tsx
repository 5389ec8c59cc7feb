import { ShoppingCartOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/orders",
    page: () => import("./OrdersListPage"),
    menu: {
      labelKey: "orders:menu",
      icon: <ShoppingCartOutlined />,
      order: 40,
      visible: (viewer) => viewer.can.readOrders !== false,
    },
  },
  { path: "/orders/new", page: () => import("./PlaceOrderPage") },
  { path: "/orders/:id", page: () => import("./OrderPage") },
];
