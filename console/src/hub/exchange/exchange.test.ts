import { CombinedError } from "urql";
import { describe, expect, it } from "vitest";
import { policySentences, purposeKey } from "./policyWords";
import {
  type BuilderState,
  chartData,
  isRunnable,
  queryInput,
  readBuilder,
  writeBuilder,
} from "./queryBuilder";
import { refusalOf } from "./refusal";

const SCHEMA = [
  { name: "factory", type: "string", role: "contributor" },
  { name: "process", type: "string", role: "dimension" },
  { name: "week", type: "string", role: "dimension" },
  { name: "free", type: "number", role: "measure" },
  { name: "shifts", type: "integer", role: "measure" },
];

describe("usage policy in words", () => {
  it("says every term of an aggregation-only automatic offer", () => {
    const sentences = policySentences({
      consumers: { organizations: [], kinds: ["CONSUMER", "PUBLISHER"] },
      purposes: ["CAPACITY_PLANNING", "RESEARCH"],
      regions: null,
      fields: null,
      aggregation: { minContributors: 3 },
      retentionDays: 30,
      contractDays: 90,
      expiresAt: null,
      onwardSharing: false,
      freshData: true,
      approval: "AUTOMATIC",
    });
    expect(sentences.map((s) => s.key)).toEqual([
      "policy.consumerKinds",
      "policy.purposes",
      "policy.allFields",
      "policy.allRegions",
      "policy.aggregation",
      "policy.retention",
      "policy.contractDays",
      "policy.noOnwardSharing",
      "policy.freshData",
      "policy.automatic",
    ]);
    expect(sentences[4]).toMatchObject({ term: "aggregation", count: 3 });
    expect(sentences[1]).toMatchObject({
      items: "purpose",
      list: ["CAPACITY_PLANNING", "RESEARCH"],
    });
  });

  it("names the narrowed fields, regions and expiry of agreed terms", () => {
    const sentences = policySentences({
      purposes: ["RESEARCH"],
      fields: ["week", "free"],
      regions: ["CN-GD"],
      retentionDays: 7,
      contractDays: 30,
      expiresAt: "2027-01-01T00:00:00Z",
      onwardSharing: true,
      freshData: false,
    });
    const keys = sentences.map((s) => s.key);
    expect(keys).toContain("policy.purpose");
    expect(keys).toContain("policy.fields");
    expect(keys).toContain("policy.regions");
    expect(keys).toContain("policy.rows");
    expect(keys).toContain("policy.expires");
    expect(keys).toContain("policy.onwardSharing");
    expect(keys).not.toContain("policy.automatic");
    expect(purposeKey("capacity-planning")).toBe("CAPACITY_PLANNING");
  });
});

describe("refusals", () => {
  it("take the term and every term the API lists", () => {
    const error = new CombinedError({
      graphQLErrors: [
        {
          message: "purposes: not offered",
          extensions: { code: "FORBIDDEN", term: "purposes", terms: ["fields", "purposes"] },
        },
      ],
    });
    expect(refusalOf(error)).toEqual({
      message: "purposes: not offered",
      code: "FORBIDDEN",
      term: "purposes",
      terms: ["fields", "purposes"],
    });
  });

  it("have no term when the API refused otherwise", () => {
    const error = new CombinedError({
      graphQLErrors: [{ message: "no", extensions: { code: "INVALID_INPUT" } }],
    });
    expect(refusalOf(error)).toMatchObject({ term: null, terms: [], code: "INVALID_INPUT" });
  });
});

describe("the query builder", () => {
  const state: BuilderState = {
    contract: "c1",
    fields: [],
    groupBy: ["process", "week"],
    aggregates: [
      { fn: "SUM", field: "free" },
      { fn: "COUNT", field: null },
    ],
    filters: [
      { field: "week", op: "IN", value: "2026-W49, 2026-W50" },
      { field: "shifts", op: "GTE", value: "2" },
    ],
    chart: "line",
  };

  it("keeps its state in the address and reads it back", () => {
    const params = writeBuilder(state);
    expect(params.get("agg")).toBe("SUM:free,COUNT");
    expect(params.getAll("filter")).toEqual(["week|IN|2026-W49, 2026-W50", "shifts|GTE|2"]);
    expect(readBuilder(new URLSearchParams(params.toString()))).toEqual(state);
    expect(isRunnable(state)).toBe(true);
    expect(isRunnable({ ...state, aggregates: [] })).toBe(false);
  });

  it("ignores what it does not know in the address", () => {
    const read = readBuilder(new URLSearchParams("agg=DROP:x,SUM:free&filter=week|LIKE|x"));
    expect(read.aggregates).toEqual([{ fn: "SUM", field: "free" }]);
    expect(read.filters).toEqual([]);
    expect(read.chart).toBe("bar");
  });

  it("sends values of each field's own type, lists for IN", () => {
    const input = queryInput(state, SCHEMA);
    expect(input.fields).toBeNull();
    expect(input.groupBy).toEqual(["process", "week"]);
    expect(input.filters).toEqual([
      { field: "week", op: "IN", value: ["2026-W49", "2026-W50"] },
      { field: "shifts", op: "GTE", value: 2 },
    ]);
    const rows = queryInput({ ...state, aggregates: [], fields: ["week"] }, SCHEMA);
    expect(rows).toMatchObject({ fields: ["week"], groupBy: [], aggregates: [] });
  });

  it("draws one category per group and one series per figure", () => {
    const chart = chartData(
      [
        { process: "moulding", week: "W49", sum_free: 120, count: 4 },
        { process: "assembly", week: null, sum_free: null, count: 3 },
      ],
      ["process", "week"],
      ["sum_free", "count"],
    );
    expect(chart).toEqual({
      categories: ["moulding · W49", "assembly · —"],
      series: [
        { name: "sum_free", values: [120, null] },
        { name: "count", values: [4, 3] },
      ],
    });
    expect(chartData([{ week: "W49" }], [], ["count"])).toBeNull();
  });
});
