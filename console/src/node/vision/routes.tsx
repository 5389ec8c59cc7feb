import { CameraOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/vision",
    page: () => import("./StationsPage"),
    menu: {
      labelKey: "vision:menu",
      icon: <CameraOutlined />,
      order: 60,
      visible: (viewer) => viewer.can.readVision !== false,
    },
  },
  { path: "/vision/models", page: () => import("./ModelsPage") },
  { path: "/vision/models/:id", page: () => import("./ModelPage") },
  { path: "/vision/train", page: () => import("./TrainPage") },
  { path: "/vision/stations/:id", page: () => import("./StationPage") },
  { path: "/vision/root-cause", page: () => import("./RootCausePage") },
];
