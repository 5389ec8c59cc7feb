import { describe, expect, it } from "vitest";
import type { Viewer } from "../auth/useViewer";
import { collectRoutes, menuEntries } from "./routes";

const page = async () => ({ default: () => null });
const viewer: Viewer = {
  signedIn: true,
  loaded: true,
  kind: "user",
  subject: "u",
  name: null,
  email: null,
  organization: null,
  organizationKind: null,
  roles: [],
  scopes: [],
  factories: [],
  can: { readAudit: false },
};

describe("route registry", () => {
  it("collects every area and orders the menu", () => {
    const routes = collectRoutes({
      "../node/orders/routes.tsx": {
        routes: [
          { path: "/orders", page, menu: { labelKey: "orders:menu", order: 40 } },
          { path: "/orders/:number", page },
        ],
      },
      "../node/overview/routes.tsx": {
        routes: [{ path: "/", page, menu: { labelKey: "overview:menu", order: 0 } }],
      },
      "../node/data/routes.tsx": {
        routes: [
          {
            path: "/audit",
            page,
            menu: { labelKey: "data:audit", order: 90, visible: (v) => v.can.readAudit === true },
          },
        ],
      },
    });
    expect(routes.map((r) => r.path)).toEqual(["/audit", "/orders", "/orders/:number", "/"]);
    expect(menuEntries(routes, viewer).map((r) => r.path)).toEqual(["/", "/orders"]);
  });

  it("refuses two areas claiming one path", () => {
    const twice = { routes: [{ path: "/x", page }] };
    expect(() => collectRoutes({ a: twice, b: twice })).toThrow(/\/x/);
  });
});
