import { ShopOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/factories",
    page: () => import("./FactoriesPage"),
    menu: {
      labelKey: "factories:menu",
      icon: <ShopOutlined />,
      order: 10,
      visible: (viewer) => viewer.can.readFactories === true,
    },
  },
  {
    path: "/factories/:ref",
    page: () => import("./FactoryPage"),
  },
];
