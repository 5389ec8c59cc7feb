/**
 * The governed-query builder's state, kept in the address so every query is a link:
 * `contract`, `fields` (columns of a row query), `group`, `agg` (`SUM:free`, `COUNT`),
 * `filter` (repeated, `field|OP|value`, IN values comma-separated) and `chart` (bar or line).
 */
import type { DataAggregateFn, DataFilterOp, DataQueryInput } from "../../gql/hub/graphql";

export const AGGREGATE_FNS: DataAggregateFn[] = ["COUNT", "SUM", "AVG", "MIN", "MAX"];
export const FILTER_OPS: DataFilterOp[] = ["EQ", "IN", "GTE", "LTE", "CONTAINS"];

export interface FilterSpec {
  field: string;
  op: DataFilterOp;
  /** As typed; IN takes comma-separated values. */
  value: string;
}

export interface AggregateSpec {
  fn: DataAggregateFn;
  /** null: COUNT of rows. */
  field: string | null;
}

export interface BuilderState {
  contract: string | null;
  fields: string[];
  groupBy: string[];
  aggregates: AggregateSpec[];
  filters: FilterSpec[];
  chart: "bar" | "line";
}

export interface SchemaField {
  name: string;
  type: string;
  role: string;
}

const list = (value: string | null): string[] =>
  value ? value.split(",").filter((part) => part.length > 0) : [];

function isFn(value: string): value is DataAggregateFn {
  return (AGGREGATE_FNS as string[]).includes(value);
}

function isOp(value: string): value is DataFilterOp {
  return (FILTER_OPS as string[]).includes(value);
}

export function readBuilder(params: URLSearchParams): BuilderState {
  const aggregates: AggregateSpec[] = [];
  for (const part of list(params.get("agg"))) {
    const [fn, field] = part.split(":");
    if (fn && isFn(fn)) aggregates.push({ fn, field: field || null });
  }
  const filters: FilterSpec[] = [];
  for (const raw of params.getAll("filter")) {
    const [field, op, ...rest] = raw.split("|");
    if (field && op && isOp(op)) filters.push({ field, op, value: rest.join("|") });
  }
  return {
    contract: params.get("contract"),
    fields: list(params.get("fields")),
    groupBy: list(params.get("group")),
    aggregates,
    filters,
    chart: params.get("chart") === "line" ? "line" : "bar",
  };
}

export function writeBuilder(state: BuilderState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.contract) params.set("contract", state.contract);
  if (state.fields.length) params.set("fields", state.fields.join(","));
  if (state.groupBy.length) params.set("group", state.groupBy.join(","));
  if (state.aggregates.length) {
    params.set(
      "agg",
      state.aggregates.map((a) => (a.field ? `${a.fn}:${a.field}` : a.fn)).join(","),
    );
  }
  for (const f of state.filters) {
    if (f.field) params.append("filter", `${f.field}|${f.op}|${f.value}`);
  }
  if (state.chart === "line") params.set("chart", "line");
  return params;
}

/** Whether the state asks anything: columns of rows, or aggregates. */
export function isRunnable(state: BuilderState): boolean {
  return Boolean(state.contract) && (state.fields.length > 0 || state.aggregates.length > 0);
}

/** A typed value of the field's own type from what was typed. */
export function typedValue(type: string | undefined, raw: string): unknown {
  const text = raw.trim();
  if (type === "integer" || type === "number") {
    const number = Number(text);
    return text !== "" && Number.isFinite(number) ? number : text;
  }
  if (type === "boolean") {
    if (text === "true") return true;
    if (text === "false") return false;
  }
  return text;
}

export function queryInput(state: BuilderState, schema: readonly SchemaField[]): DataQueryInput {
  const typeOf = new Map(schema.map((f) => [f.name, f.type]));
  const aggregating = state.aggregates.length > 0;
  return {
    fields: aggregating ? null : state.fields,
    groupBy: aggregating ? state.groupBy : [],
    aggregates: state.aggregates.map((a) => ({ fn: a.fn, field: a.field })),
    filters: state.filters
      .filter((f) => f.field)
      .map((f) => ({
        field: f.field,
        op: f.op,
        value:
          f.op === "IN"
            ? f.value
                .split(",")
                .map((part) => typedValue(typeOf.get(f.field), part))
                .filter((part) => part !== "")
            : typedValue(typeOf.get(f.field), f.value),
      })),
    first: 200,
  };
}

/** The result's column for an aggregate, as the API names it (`sum_free`, `count`). */
export function aggregateColumn(a: AggregateSpec): string {
  return a.field ? `${a.fn.toLowerCase()}_${a.field}` : a.fn.toLowerCase();
}

export interface ChartData {
  categories: string[];
  series: { name: string; values: (number | null)[] }[];
}

/**
 * One category per group (its group-by values joined), one series per numeric aggregate:
 * nothing to draw for a row query or an answer without groups.
 */
export function chartData(
  rows: readonly Record<string, unknown>[],
  groupBy: readonly string[],
  measures: readonly string[],
): ChartData | null {
  if (groupBy.length === 0 || measures.length === 0 || rows.length === 0) return null;
  const categories = rows.map((row) =>
    groupBy
      .map((g) => (row[g] === null || row[g] === undefined ? "—" : String(row[g])))
      .join(" · "),
  );
  const series = measures.map((name) => ({
    name,
    values: rows.map((row) => {
      const value = row[name];
      return typeof value === "number" ? value : null;
    }),
  }));
  return { categories, series };
}
