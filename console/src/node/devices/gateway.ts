/** Shaping a gateway's reported status for its page: point rows, summary counts, values. */

export interface GatewayPoint {
  connector: string;
  deviceKey: string;
  metric: string;
  unit: string;
  source: string;
  lastValue?: unknown;
  lastAt?: string | null;
  lastError?: string | null;
  lastErrorAt?: string | null;
  failing: boolean;
}

export interface GatewayConnector {
  name: string;
  up: boolean;
  lastError?: string | null;
}

export interface PointRow extends GatewayPoint {
  key: string;
}

/** Rows for the points table: failing points first, then by machine, connector and metric. */
export function pointRows(points: readonly GatewayPoint[]): PointRow[] {
  return points
    .map((point) => ({ ...point, key: `${point.connector}/${point.deviceKey}/${point.metric}` }))
    .sort(
      (a, b) =>
        Number(b.failing) - Number(a.failing) ||
        a.deviceKey.localeCompare(b.deviceKey) ||
        a.connector.localeCompare(b.connector) ||
        a.metric.localeCompare(b.metric),
    );
}

export interface GatewaySummary {
  points: number;
  failing: number;
  machines: number;
  connectorsUp: number;
  connectorsDown: number;
}

export function summarize(
  points: readonly GatewayPoint[],
  connectors: readonly GatewayConnector[],
): GatewaySummary {
  const up = connectors.filter((c) => c.up).length;
  return {
    points: points.length,
    failing: points.filter((p) => p.failing).length,
    machines: new Set(points.map((p) => p.deviceKey)).size,
    connectorsUp: up,
    connectorsDown: connectors.length - up,
  };
}

export type PointValue =
  | { kind: "none" }
  | { kind: "number"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "text"; value: string };

/** A point's last value as the gateway reported it: a number, a boolean or a text. */
export function pointValue(value: unknown): PointValue {
  if (typeof value === "number" && Number.isFinite(value)) return { kind: "number", value };
  if (typeof value === "boolean") return { kind: "bool", value };
  if (typeof value === "string") return { kind: "text", value };
  return { kind: "none" };
}

/** The report is older than `staleAfterS` (the gateway stopped reporting, or cannot). */
export function isStale(reportedAt: string | null | undefined, now: number, staleAfterS = 120) {
  if (!reportedAt) return true;
  return now - Date.parse(reportedAt) > staleAfterS * 1000;
}

export interface ConfigVersions {
  configVersion?: number | null;
  configLatest?: number | null;
  configRefusedVersion?: number | null;
  configRefusedError?: string | null;
}

export interface ConfigState {
  /** The node's version the gateway runs; null: its own file. */
  running: number | null;
  /** A newer version the node holds that the gateway neither runs nor refused yet. */
  pending: number | null;
  /** The version the gateway refused, with its reason, while it is still the newest. */
  refused: { version: number; error: string } | null;
}

export function configState(status: ConfigVersions): ConfigState {
  const running = status.configVersion ?? null;
  const latest = status.configLatest ?? null;
  const refusedVersion = status.configRefusedVersion ?? null;
  const refused =
    refusedVersion !== null && refusedVersion === latest
      ? { version: refusedVersion, error: status.configRefusedError ?? "" }
      : null;
  const pending = latest !== null && latest !== running && refused === null ? latest : null;
  return { running, pending, refused };
}
