/** The nodes pages' logic: filters in the address, counts, and the region view's grouping. */
import { provinceName } from "../../components/provinces";

export type NodeStatusValue = "ONLINE" | "OFFLINE";

export interface NodeRow {
  name: string;
  region: string;
  industry: string;
  status: NodeStatusValue;
}

export interface NodeFilters {
  q: string;
  region: string | null;
  industry: string | null;
  status: NodeStatusValue | null;
  view: "table" | "regions";
}

const STATUSES: readonly string[] = ["ONLINE", "OFFLINE"];

export function readFilters(params: URLSearchParams): NodeFilters {
  const status = params.get("status");
  return {
    q: (params.get("q") ?? "").slice(0, 100),
    region: params.get("region") || null,
    industry: params.get("industry") || null,
    status: status && STATUSES.includes(status) ? (status as NodeStatusValue) : null,
    view: params.get("view") === "regions" ? "regions" : "table",
  };
}

export function writeFilters(filters: NodeFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.q) params.set("q", filters.q);
  if (filters.region) params.set("region", filters.region);
  if (filters.industry) params.set("industry", filters.industry);
  if (filters.status) params.set("status", filters.status);
  if (filters.view !== "table") params.set("view", filters.view);
  return params;
}

/** Name, region code, province name (either language) or industry containing the text. */
export function matchesSearch(node: NodeRow, q: string): boolean {
  const text = q.trim().toLowerCase();
  if (!text) return true;
  const haystack = [
    node.name,
    node.region,
    node.industry,
    provinceName(node.region, "zh-CN") ?? "",
    provinceName(node.region, "en") ?? "",
  ]
    .join(" ")
    .toLowerCase();
  return haystack.includes(text);
}

export interface Tally {
  key: string;
  total: number;
  online: number;
  offline: number;
}

function tally(nodes: readonly NodeRow[], keyOf: (node: NodeRow) => string): Tally[] {
  const byKey = new Map<string, Tally>();
  for (const node of nodes) {
    const key = keyOf(node);
    const entry = byKey.get(key) ?? { key, total: 0, online: 0, offline: 0 };
    entry.total += 1;
    if (node.status === "ONLINE") entry.online += 1;
    else entry.offline += 1;
    byKey.set(key, entry);
  }
  return [...byKey.values()].sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
}

export function byRegion(nodes: readonly NodeRow[]): Tally[] {
  return tally(nodes, (node) => node.region);
}

export function byIndustry(nodes: readonly NodeRow[]): Tally[] {
  return tally(nodes, (node) => node.industry);
}

export interface RegionGroupRow extends Tally {
  region: string;
  industry: string;
  /** Rows this province's first row spans (0 on the others), for the merged province cell. */
  regionSpan: number;
  regionTotal: Tally;
}

/** One row per province and industry, provinces by code, industries by name within each. */
export function groupByRegionAndIndustry(nodes: readonly NodeRow[]): RegionGroupRow[] {
  const regions = new Map<string, NodeRow[]>();
  for (const node of nodes) {
    regions.set(node.region, [...(regions.get(node.region) ?? []), node]);
  }
  const rows: RegionGroupRow[] = [];
  for (const region of [...regions.keys()].sort()) {
    const inRegion = regions.get(region) ?? [];
    const regionTotal = tally(inRegion, () => region)[0] ?? {
      key: region,
      total: 0,
      online: 0,
      offline: 0,
    };
    const industries = tally(inRegion, (node) => node.industry).sort((a, b) =>
      a.key.localeCompare(b.key),
    );
    industries.forEach((industry, index) => {
      rows.push({
        ...industry,
        key: `${region}/${industry.key}`,
        region,
        industry: industry.key,
        regionSpan: index === 0 ? industries.length : 0,
        regionTotal,
      });
    });
  }
  return rows;
}

/** The nodes that need someone's attention: offline ones, longest silent first. */
export function needingAttention<T extends NodeRow & { lastHeartbeat?: string | null }>(
  nodes: readonly T[],
): T[] {
  const time = (node: T) => (node.lastHeartbeat ? Date.parse(node.lastHeartbeat) : 0);
  return nodes.filter((node) => node.status === "OFFLINE").sort((a, b) => time(a) - time(b));
}
