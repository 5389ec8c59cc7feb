import {
  AppstoreOutlined,
  CloudUploadOutlined,
  DeploymentUnitOutlined,
  SafetyCertificateOutlined,
} from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/market",
    page: () => import("./MarketPage"),
    menu: {
      labelKey: "market:menu",
      icon: <AppstoreOutlined />,
      order: 40,
      visible: (viewer) => viewer.can.readMarket !== false,
    },
  },
  { path: "/market/listings/:slug", page: () => import("./ListingPage") },
  { path: "/market/releases/:id", page: () => import("./ReleasePage") },
  {
    path: "/market/publish",
    page: () => import("./PublishPage"),
    menu: {
      labelKey: "market:publishMenu",
      icon: <CloudUploadOutlined />,
      order: 41,
      visible: (viewer) => viewer.can.publishReleases === true,
    },
  },
  {
    path: "/market/installations",
    page: () => import("./InstallationsPage"),
    menu: {
      labelKey: "market:installationsMenu",
      icon: <DeploymentUnitOutlined />,
      order: 42,
      visible: (viewer) => viewer.can.installToNodes === true,
    },
  },
  {
    path: "/market/publishers",
    page: () => import("./PublishersPage"),
    menu: {
      labelKey: "market:publishersMenu",
      icon: <SafetyCertificateOutlined />,
      order: 43,
      visible: (viewer) => viewer.can.reviewReleases === true,
    },
  },
];
