import { TeamOutlined } from "@ant-design/icons";
import type { AreaRoute } from "../../app/routes";

// Shared workers (issue #23): pools, needs, matching and proposals. The API decides every
// operation by policy (an employer's staff, a factory's, the operator); the menu shows for all.
export const routes: AreaRoute[] = [
  {
    path: "/workforce",
    page: () => import("./PoolsPage"),
    menu: { labelKey: "workforce:menu", icon: <TeamOutlined />, order: 47 },
  },
  { path: "/workforce/needs", page: () => import("./NeedsPage") },
  { path: "/workforce/matching", page: () => import("./MatchingPage") },
  { path: "/workforce/proposals", page: () => import("./ProposalsPage") },
];
