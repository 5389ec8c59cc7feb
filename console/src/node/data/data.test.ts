import { describe, expect, it } from "vitest";
import { auditSearch, parseAuditFilters, rangeProblem, toAuditVariables } from "./auditFilters";

describe("audit filters in the address", () => {
  it("reads one target, the action, the actor and the range", () => {
    const filters = parseAuditFilters(
      new URLSearchParams(
        "order= SO-1 &device=press-1&actor=alice&action=node.order.place&since=2026-12-01T00:00:00Z",
      ),
    );
    expect(filters).toEqual({
      target: { kind: "order", value: "SO-1" },
      action: "node.order.place",
      actor: "alice",
      since: "2026-12-01T00:00:00.000Z",
      until: null,
    });
    expect(toAuditVariables(filters)).toEqual({
      factorySlug: null,
      orderNumber: "SO-1",
      deviceKey: null,
      action: "node.order.place",
      actor: "alice",
      since: "2026-12-01T00:00:00.000Z",
      until: null,
    });
    expect(parseAuditFilters(auditSearch(filters))).toEqual(filters);
  });

  it("drops empty and broken values", () => {
    const filters = parseAuditFilters(new URLSearchParams("factory=&actor=%20&since=yesterday"));
    expect(filters).toEqual({ target: null, action: null, actor: null, since: null, until: null });
    expect(auditSearch(filters).toString()).toBe("");
  });

  it("flags a range the API would refuse", () => {
    const filters = parseAuditFilters(
      new URLSearchParams("since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z"),
    );
    expect(rangeProblem(filters)).toBe(true);
    expect(rangeProblem({ ...filters, until: null })).toBe(false);
  });
});
