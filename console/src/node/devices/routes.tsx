import { ApiOutlined, WarningOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/devices",
    page: () => import("./DevicesListPage"),
    menu: {
      labelKey: "devices:menu",
      icon: <ApiOutlined />,
      order: 20,
      visible: (viewer) => viewer.can.readDevices !== false,
    },
  },
  {
    path: "/devices/dead-letters",
    page: () => import("./DeadLettersPage"),
    menu: {
      labelKey: "devices:deadLetters.menu",
      icon: <WarningOutlined />,
      order: 21,
      visible: (viewer) => viewer.can.readDeadLetters === true,
    },
  },
  {
    path: "/devices/:id",
    page: () => import("./DevicePage"),
  },
];
