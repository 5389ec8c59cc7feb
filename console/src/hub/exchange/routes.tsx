import { DatabaseOutlined, FileProtectOutlined, FunctionOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/exchange",
    page: () => import("./CatalogPage"),
    menu: {
      labelKey: "exchange:menu.catalog",
      icon: <DatabaseOutlined />,
      order: 30,
      visible: (viewer) => viewer.can.readCatalog !== false,
    },
  },
  { path: "/exchange/products/:id", page: () => import("./ProductPage") },
  {
    path: "/exchange/contracts",
    page: () => import("./ContractsPage"),
    menu: {
      labelKey: "exchange:menu.contracts",
      icon: <FileProtectOutlined />,
      order: 31,
      visible: (viewer) => viewer.can.readContracts !== false,
    },
  },
  { path: "/exchange/contracts/:id", page: () => import("./ContractPage") },
  {
    path: "/exchange/query",
    page: () => import("./QueryPage"),
    menu: {
      labelKey: "exchange:menu.query",
      icon: <FunctionOutlined />,
      order: 32,
      visible: (viewer) => viewer.can.queryData !== false,
    },
  },
];
