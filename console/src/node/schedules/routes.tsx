import { ScheduleOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/schedules",
    page: () => import("./SchedulesPage"),
    menu: {
      labelKey: "schedules:menu",
      icon: <ScheduleOutlined />,
      order: 50,
      visible: (viewer) => viewer.can.readSchedules !== false,
    },
  },
  {
    path: "/schedules/:factoryId",
    page: () => import("./FactorySchedulesPage"),
  },
];
