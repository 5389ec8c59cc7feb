import {
  ApiOutlined,
  AuditOutlined,
  BankOutlined,
  KeyOutlined,
  TeamOutlined,
} from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

export const routes: AreaRoute[] = [
  {
    path: "/organizations",
    page: () => import("./OrganizationsPage"),
    menu: {
      labelKey: "people:organizations.menu",
      icon: <BankOutlined />,
      order: 20,
      visible: (viewer) => viewer.can.readOrganizations !== false,
    },
  },
  { path: "/organizations/:id", page: () => import("./OrganizationPage") },
  {
    path: "/users",
    page: () => import("./UsersPage"),
    menu: {
      labelKey: "people:users.menu",
      icon: <TeamOutlined />,
      order: 21,
      visible: (viewer) => viewer.can.readUsers !== false,
    },
  },
  {
    path: "/clients",
    page: () => import("./ClientsPage"),
    menu: {
      labelKey: "people:clients.menu",
      icon: <ApiOutlined />,
      order: 22,
      visible: (viewer) => viewer.can.readClients !== false,
    },
  },
  {
    path: "/keys",
    page: () => import("./KeysPage"),
    menu: {
      labelKey: "people:keys.menu",
      icon: <KeyOutlined />,
      order: 23,
      visible: (viewer) => viewer.can.rotateKeys !== false || viewer.can.revokeTokens !== false,
    },
  },
  {
    path: "/audit",
    page: () => import("./AuditPage"),
    menu: {
      labelKey: "people:audit.menu",
      icon: <AuditOutlined />,
      order: 25,
      visible: (viewer) => viewer.can.readAudit !== false,
    },
  },
];
