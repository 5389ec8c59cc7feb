import type {
  FederatedRunFieldsFragment,
  FederatedRunInput,
  FederatedRunStatus,
  FederatedStrategy,
} from "../../gql/hub/graphql";

export const STATUSES: FederatedRunStatus[] = ["STARTING", "RUNNING", "FINISHED", "FAILED"];
export const ACTIVE: FederatedRunStatus[] = ["STARTING", "RUNNING"];

export function isStatus(value: string | null): value is FederatedRunStatus {
  return value !== null && (STATUSES as string[]).includes(value);
}

export function isActive(status: FederatedRunStatus): boolean {
  return ACTIVE.includes(status);
}

/** The metrics a node reports per step, in the order the run page draws them. */
export const CHART_METRICS = ["train_loss", "eval_loss", "eval_auroc", "train_examples"] as const;
export const TABLE_METRICS = [
  "train_loss",
  "train_examples",
  "eval_loss",
  "eval_auroc",
  "eval_examples",
] as const;

type Summary = NonNullable<FederatedRunFieldsFragment["summary"]>;
type PerRound = Summary["perRound"];

export interface NodeSeries {
  /** Flower's node id: names may repeat or be missing. */
  nodeId: string;
  name: string;
  /** One value per round (1..rounds); null where the node reported none (yet). */
  values: (number | null)[];
}

function label(node: { nodeId: string; name: string }): string {
  return node.name || node.nodeId;
}

/** Each node's value of `metric`, round by round over `rounds` rounds (those to come are null). */
export function metricSeries(perRound: PerRound, metric: string, rounds: number): NodeSeries[] {
  const byNode = new Map<string, NodeSeries>();
  const count = Math.max(rounds, ...perRound.map((r) => r.round), 0);
  for (const record of perRound) {
    for (const step of record.steps) {
      for (const node of step.nodes) {
        const found = node.metrics.find((m) => m.name === metric);
        if (!found || found.value === null) continue;
        let series = byNode.get(node.nodeId);
        if (!series) {
          series = { nodeId: node.nodeId, name: label(node), values: Array(count).fill(null) };
          byNode.set(node.nodeId, series);
        }
        if (record.round >= 1 && record.round <= count)
          series.values[record.round - 1] = found.value;
      }
    }
  }
  return [...byNode.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The example-weighted mean of `metric` over the nodes, per round (what the server aggregates). */
export function aggregatedSeries(
  perRound: PerRound,
  metric: string,
  rounds: number,
): (number | null)[] {
  const count = Math.max(rounds, ...perRound.map((r) => r.round), 0);
  const out: (number | null)[] = Array(count).fill(null);
  const weightKey = metric.startsWith("train_") ? "train_examples" : "eval_examples";
  for (const record of perRound) {
    if (record.round < 1 || record.round > count) continue;
    for (const step of record.steps) {
      const reported = step.aggregated.find((m) => m.name === metric);
      if (reported && reported.value !== null) {
        out[record.round - 1] = reported.value;
        continue;
      }
      let total = 0;
      let weighted = 0;
      for (const node of step.nodes) {
        const value = node.metrics.find((m) => m.name === metric)?.value;
        const weight = node.metrics.find((m) => m.name === weightKey)?.value ?? 0;
        if (value === null || value === undefined || weight <= 0) continue;
        total += weight;
        weighted += weight * value;
      }
      if (total > 0) out[record.round - 1] = weighted / total;
    }
  }
  return out;
}

export interface RoundRow {
  key: string;
  round: number;
  nodeId: string;
  name: string;
  metrics: Record<string, number | null>;
  /** A step's error for this node in that round. */
  error: string | null;
}

/** One row per round and node: what it reported in each step, and any step error. */
export function roundRows(perRound: PerRound): RoundRow[] {
  const rows: RoundRow[] = [];
  for (const record of perRound) {
    const byNode = new Map<string, RoundRow>();
    const row = (nodeId: string, name: string): RoundRow => {
      let found = byNode.get(nodeId);
      if (!found) {
        found = {
          key: `${record.round}-${nodeId}`,
          round: record.round,
          nodeId,
          name,
          metrics: {},
          error: null,
        };
        byNode.set(nodeId, found);
      }
      if (!found.name && name) found.name = name;
      return found;
    };
    for (const step of record.steps) {
      for (const node of step.nodes) {
        const target = row(node.nodeId, node.name);
        for (const metric of node.metrics) target.metrics[metric.name] = metric.value;
      }
      for (const failure of step.errors) {
        row(failure.nodeId, "").error = `${step.kind}: ${failure.error}`;
      }
    }
    rows.push(
      ...[...byNode.values()].sort((a, b) =>
        (a.name || a.nodeId).localeCompare(b.name || b.nodeId),
      ),
    );
  }
  return rows;
}

/** Rounds with every step the run takes done (train and evaluate, or SecAgg+'s stages). */
export function roundsDone(perRound: PerRound): number {
  return perRound.filter((r) => r.steps.some((s) => s.kind === "evaluate")).length;
}

export type Privacy = "none" | "dp" | "secagg";

export interface StartRunValues {
  label?: string;
  strategy: FederatedStrategy;
  rounds: number;
  minNodes: number;
  localEpochs: number;
  learningRate: number;
  proximalMu?: number;
  privacy: Privacy;
  dpNoiseMultiplier?: number;
  dpClippingNorm?: number;
  secaggClippingRange?: number;
  secaggMaxWeight?: number;
  roundTimeoutS: number;
}

/** The API's defaults (FederatedRunInput). */
export const START_DEFAULTS: StartRunValues = {
  label: "",
  strategy: "FEDAVG",
  rounds: 3,
  minNodes: 2,
  localEpochs: 20,
  learningRate: 0.1,
  proximalMu: 0.1,
  privacy: "none",
  dpNoiseMultiplier: 1.0,
  dpClippingNorm: 1.0,
  secaggClippingRange: 100,
  secaggMaxWeight: 1000,
  roundTimeoutS: 300,
};

/** The mutation's input: only the options of the chosen strategy and privacy are sent. */
export function startRunInput(values: StartRunValues): FederatedRunInput {
  const input: FederatedRunInput = {
    strategy: values.strategy,
    rounds: values.rounds,
    minNodes: values.minNodes,
    localEpochs: values.localEpochs,
    learningRate: values.learningRate,
    roundTimeoutS: values.roundTimeoutS,
    label: values.label?.trim() ?? "",
  };
  if (values.strategy === "FEDPROX") input.proximalMu = values.proximalMu ?? 0;
  if (values.privacy === "dp") {
    input.dpNoiseMultiplier = values.dpNoiseMultiplier ?? 0;
    input.dpClippingNorm = values.dpClippingNorm ?? 1;
  }
  if (values.privacy === "secagg") {
    input.secureAggregation = true;
    input.secaggClippingRange = values.secaggClippingRange ?? 100;
    input.secaggMaxWeight = values.secaggMaxWeight ?? 1000;
  }
  return input;
}

/** The value of one named metric, or null. */
export function metricValue(
  metrics: { name: string; value: number | null }[],
  name: string,
): number | null {
  return metrics.find((m) => m.name === name)?.value ?? null;
}
