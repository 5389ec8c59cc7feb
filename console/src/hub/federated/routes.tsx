import { ExperimentOutlined, NodeIndexOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/federated",
    page: () => import("./RunsPage"),
    menu: {
      labelKey: "federated:menu",
      icon: <ExperimentOutlined />,
      order: 50,
      visible: (viewer) => viewer.can.readFederated !== false,
    },
  },
  { path: "/federated/runs/:id", page: () => import("./RunPage") },
  {
    path: "/federated/models",
    page: () => import("./ModelsPage"),
    menu: {
      labelKey: "federated:modelsMenu",
      icon: <NodeIndexOutlined />,
      order: 51,
      visible: (viewer) => viewer.can.readModels !== false,
    },
  },
  { path: "/federated/models/:id", page: () => import("./ModelPage") },
];
