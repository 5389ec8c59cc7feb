import { SwapOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/board",
    page: () => import("./BoardPage"),
    menu: {
      labelKey: "board:menu",
      icon: <SwapOutlined />,
      order: 60,
      visible: (viewer) => viewer.can.readBoard !== false,
    },
  },
  { path: "/board/:id", page: () => import("./PostingPage") },
];
