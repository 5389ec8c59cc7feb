import type { Service } from "../config";
import { type AreaModule, type AreaRoute, collectRoutes } from "./routes";

// Every area's routes, the node's and the hub's apart: the serving service decides which
// (`service` in /console/config.json). Pages stay lazy, so the other service's cost nothing.
const nodeModules = import.meta.glob<AreaModule>("../node/*/routes.tsx", { eager: true });
const hubModules = import.meta.glob<AreaModule>("../hub/*/routes.tsx", { eager: true });

const ROUTES: Record<Service, AreaRoute[]> = {
  node: collectRoutes(nodeModules),
  hub: collectRoutes(hubModules),
};

export function areaRoutes(service: Service): AreaRoute[] {
  return ROUTES[service];
}
