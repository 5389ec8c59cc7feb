import { describe, expect, it } from "vitest";
import { provinceName, regionLabel } from "../../components/provinces";
import {
  byIndustry,
  byRegion,
  groupByRegionAndIndustry,
  matchesSearch,
  type NodeRow,
  needingAttention,
  readFilters,
  writeFilters,
} from "./nodes";
import { withEvents } from "./useNodeEvents";

const nodes: (NodeRow & { lastHeartbeat: string | null })[] = [
  {
    name: "gd-a",
    region: "CN-GD",
    industry: "injection-moulding",
    status: "ONLINE",
    lastHeartbeat: "2026-01-02T00:00:00Z",
  },
  {
    name: "gd-b",
    region: "CN-GD",
    industry: "cnc",
    status: "OFFLINE",
    lastHeartbeat: "2026-01-01T00:00:00Z",
  },
  { name: "gd-c", region: "CN-GD", industry: "cnc", status: "ONLINE", lastHeartbeat: null },
  { name: "zj-a", region: "CN-ZJ", industry: "textile", status: "OFFLINE", lastHeartbeat: null },
];

describe("nodes filters", () => {
  it("reads what it writes and drops what it does not know", () => {
    const filters = readFilters(
      new URLSearchParams("region=CN-GD&status=OFFLINE&view=regions&q=gd"),
    );
    expect(filters).toEqual({
      q: "gd",
      region: "CN-GD",
      industry: null,
      status: "OFFLINE",
      view: "regions",
    });
    expect(readFilters(writeFilters(filters))).toEqual(filters);
    expect(readFilters(new URLSearchParams("status=MAYBE&view=map")).status).toBeNull();
    expect(readFilters(new URLSearchParams("view=map")).view).toBe("table");
    expect(writeFilters(readFilters(new URLSearchParams())).toString()).toBe("");
  });

  it("searches name, code, province names and industry", () => {
    const node = nodes[0] as NodeRow;
    expect(matchesSearch(node, "广东")).toBe(true);
    expect(matchesSearch(node, "guangdong")).toBe(true);
    expect(matchesSearch(node, "moulding")).toBe(true);
    expect(matchesSearch(node, "zhejiang")).toBe(false);
    expect(matchesSearch(node, "  ")).toBe(true);
  });
});

describe("nodes counts", () => {
  it("tallies by region and industry, biggest first", () => {
    expect(byRegion(nodes)).toEqual([
      { key: "CN-GD", total: 3, online: 2, offline: 1 },
      { key: "CN-ZJ", total: 1, online: 0, offline: 1 },
    ]);
    expect(byIndustry(nodes).map((row) => row.key)).toEqual([
      "cnc",
      "injection-moulding",
      "textile",
    ]);
  });

  it("groups by province then industry with the province cell spanning its rows", () => {
    const rows = groupByRegionAndIndustry(nodes);
    expect(rows.map((row) => [row.region, row.industry, row.total, row.regionSpan])).toEqual([
      ["CN-GD", "cnc", 2, 2],
      ["CN-GD", "injection-moulding", 1, 0],
      ["CN-ZJ", "textile", 1, 1],
    ]);
    expect(rows[0]?.regionTotal).toEqual({ key: "CN-GD", total: 3, online: 2, offline: 1 });
  });

  it("lists offline nodes, longest silent first", () => {
    expect(needingAttention(nodes).map((node) => node.name)).toEqual(["zj-a", "gd-b"]);
  });
});

describe("provinces", () => {
  it("names a code in either language and leaves unknown codes alone", () => {
    expect(provinceName("CN-GD", "zh-CN")).toBe("广东");
    expect(provinceName("cn-gd", "en")).toBe("Guangdong");
    expect(regionLabel("CN-ZJ", "en")).toBe("Zhejiang (CN-ZJ)");
    expect(regionLabel("US-CA", "en")).toBe("US-CA");
  });
});

describe("live node events", () => {
  const read = {
    name: "zj-a",
    region: "CN-ZJ",
    industry: "textile",
    status: "ONLINE" as const,
    lastHeartbeat: "2026-01-01T00:00:10Z",
    registeredAt: "2025-12-01T00:00:00Z",
    version: "1.0.0",
  };
  const event = (status: "ONLINE" | "OFFLINE", at: string) =>
    new Map([["zj-a", { kind: status, at, node: { ...read, status } }]]);

  it("shows a node as a newer event says, and keeps what was read after it", () => {
    expect(withEvents([read], event("OFFLINE", "2026-01-01T00:00:20Z"))[0]?.status).toBe("OFFLINE");
    expect(withEvents([read], event("OFFLINE", "2026-01-01T00:00:05Z"))[0]?.status).toBe("ONLINE");
    expect(withEvents([read], new Map())[0]).toBe(read);
  });
});
