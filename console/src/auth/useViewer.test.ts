import { describe, expect, it } from "vitest";
import type { ViewerQuery } from "../gql/node/graphql";
import { buildViewer } from "./useViewer";

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "EdDSA" })}.${part(claims)}.signature`;
}

const access = jwt({
  sub: "u-1",
  org: "org-1",
  org_kind: "node_operator",
  roles: ["node_operator"],
});
const id = jwt({ sub: "u-1", name: "陈丽", email: "chen@demo.example" });

describe("buildViewer", () => {
  it("is nobody without a token", () => {
    expect(buildViewer(null, null, null)).toMatchObject({ signedIn: false, can: {} });
  });

  it("shows the person from the tokens and knows no capability before the API answers", () => {
    const viewer = buildViewer(access, id, null);
    expect(viewer).toMatchObject({
      signedIn: true,
      loaded: false,
      subject: "u-1",
      name: "陈丽",
      email: "chen@demo.example",
      organization: "org-1",
      roles: [],
      can: {},
    });
    expect(viewer.can.readOrders).toBeUndefined();
  });

  it("takes what the person may do from the API only", () => {
    const api = {
      kind: "user",
      subject: "u-1",
      name: null,
      email: null,
      organizationId: "org-1",
      organizationKind: "node_operator",
      roles: ["node_operator"],
      scopes: ["node:operate"],
      factories: [],
      can: { readOrders: true, placeOrders: false },
    } as unknown as ViewerQuery["viewer"];
    const viewer = buildViewer(access, id, api);
    expect(viewer.loaded).toBe(true);
    expect(viewer.name).toBe("陈丽");
    expect(viewer.can).toEqual({ readOrders: true, placeOrders: false });
  });
});
