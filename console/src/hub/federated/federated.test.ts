import { describe, expect, it } from "vitest";
import {
  aggregatedSeries,
  metricSeries,
  roundRows,
  roundsDone,
  START_DEFAULTS,
  startRunInput,
} from "./shaping";

const node = (nodeId: string, name: string, metrics: Record<string, number | null>) => ({
  nodeId,
  name,
  metrics: Object.entries(metrics).map(([n, value]) => ({ name: n, value })),
});
const step = (kind: string, nodes: ReturnType<typeof node>[], aggregated = {}) => ({
  kind,
  seconds: 1,
  missing: [],
  errors: [] as { nodeId: string; error: string }[],
  nodes,
  aggregated: Object.entries(aggregated).map(([n, value]) => ({ name: n, value: value as number })),
});

const perRound = [
  {
    round: 1,
    steps: [
      step("train", [
        node("11", "zj", { train_examples: 30 }),
        node("12", "gd", { train_examples: 10 }),
      ]),
      step("evaluate", [
        node("11", "zj", { eval_loss: 0.6, eval_examples: 30 }),
        node("12", "gd", { eval_loss: 0.2, eval_examples: 10 }),
      ]),
    ],
  },
  {
    round: 2,
    steps: [
      step("train", [
        node("11", "zj", { train_loss: 0.4, train_examples: 30 }),
        node("12", "gd", { train_loss: 0.8, train_examples: 10 }),
      ]),
    ],
  },
];

describe("federated run shaping", () => {
  it("gives each node a value per round, rounds to come empty", () => {
    expect(metricSeries(perRound, "train_loss", 3)).toEqual([
      { nodeId: "12", name: "gd", values: [null, 0.8, null] },
      { nodeId: "11", name: "zj", values: [null, 0.4, null] },
    ]);
    expect(metricSeries(perRound, "eval_auroc", 3)).toEqual([]);
  });

  it("weights the all-nodes line by examples unless the server's aggregate is there", () => {
    expect(aggregatedSeries(perRound, "eval_loss", 2)).toEqual([0.5, null]);
    const reported = [{ round: 1, steps: [step("evaluate", [], { eval_loss: 0.42 })] }];
    expect(aggregatedSeries(reported, "eval_loss", 1)).toEqual([0.42]);
  });

  it("makes a row per round and node and counts finished rounds", () => {
    const rows = roundRows(perRound);
    expect(rows.map((r) => r.key)).toEqual(["1-12", "1-11", "2-12", "2-11"]);
    expect(rows[1]?.metrics).toEqual({ train_examples: 30, eval_loss: 0.6, eval_examples: 30 });
    expect(roundsDone(perRound)).toBe(1);
  });

  it("sends only the chosen strategy's and privacy's options", () => {
    expect(startRunInput({ ...START_DEFAULTS, rounds: 2, label: " x " })).toEqual({
      strategy: "FEDAVG",
      rounds: 2,
      minNodes: 2,
      localEpochs: 20,
      learningRate: 0.1,
      roundTimeoutS: 300,
      label: "x",
    });
    const prox = startRunInput({ ...START_DEFAULTS, strategy: "FEDPROX", privacy: "dp" });
    expect(prox).toMatchObject({ proximalMu: 0.1, dpNoiseMultiplier: 1, dpClippingNorm: 1 });
    expect(prox.secureAggregation).toBeUndefined();
    const secure = startRunInput({ ...START_DEFAULTS, privacy: "secagg" });
    expect(secure).toMatchObject({ secureAggregation: true, secaggMaxWeight: 1000 });
    expect(secure.dpNoiseMultiplier).toBeUndefined();
  });
});
