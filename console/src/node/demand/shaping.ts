/**
 * Pure shaping for the C2M demand pages: brands to choose from, a sales upload's answer, a
 * forecast series as a band chart against its actuals, accuracy figures, what a re-plan moved,
 * SKUs grouped by routing variant and proposals grouped as the node will lot them.
 */

/** Distinct brands (organization ids) of the products listed, sorted; the viewer's first. */
export function brandsOf(
  products: readonly { brand: string }[],
  own: string | null | undefined,
): string[] {
  const brands = [...new Set(products.map((p) => p.brand))].sort();
  if (own && brands.includes(own)) return [own, ...brands.filter((b) => b !== own)];
  return brands;
}

/** The brand a page asks about: the one in the address, else the only or first brand listed,
 * else null (the API's default: the caller's own organization). */
export function chosenBrand(asked: string | null, brands: readonly string[]): string | null {
  if (asked) return asked;
  return brands[0] ?? null;
}

export const PARQUET_TYPE = "application/vnd.apache.parquet";

/** The content type the upload is sent as: Parquet by its name, CSV otherwise. */
export function uploadContentType(fileName: string): string {
  return /\.parquet$/i.test(fileName.trim()) ? PARQUET_TYPE : "text/csv";
}

export interface SalesProblem {
  row: number | null;
  column: string | null;
  message: string;
}

export interface SalesGap {
  sku: string;
  firstWeek: string;
  lastWeek: string;
  weeks: number;
  message: string;
}

export type UploadOutcome =
  | {
      kind: "imported";
      rows: number;
      firstDay: string;
      lastDay: string;
      warnings: SalesGap[];
    }
  | {
      kind: "refused";
      code: string;
      message: string;
      problems: SalesProblem[];
      moreProblems: number;
    };

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function text(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

/**
 * `POST /api/v1/demand/sales`'s answer: 201 with the import, or a refusal with its code and
 * detail; a 422 `sales_invalid` lists each problem's row and column (the rest counted).
 */
export function uploadOutcome(status: number, body: unknown): UploadOutcome {
  const answer = record(body);
  if (status >= 200 && status < 300 && answer) {
    const warnings = Array.isArray(answer.warnings) ? answer.warnings : [];
    return {
      kind: "imported",
      rows: numberOrNull(answer.rows) ?? 0,
      firstDay: text(answer.firstDay),
      lastDay: text(answer.lastDay),
      warnings: warnings.flatMap((w): SalesGap[] => {
        const gap = record(w);
        if (!gap) return [];
        return [
          {
            sku: text(gap.sku),
            // The REST answer keeps the stored names (from, to); GraphQL's are camelCase.
            firstWeek: text(gap.firstWeek ?? gap.from),
            lastWeek: text(gap.lastWeek ?? gap.to),
            weeks: numberOrNull(gap.weeks) ?? 0,
            message: text(gap.message),
          },
        ];
      }),
    };
  }
  const code = answer && typeof answer.error === "string" ? answer.error : `HTTP_${status}`;
  const detail = answer?.detail;
  const message =
    typeof detail === "string" ? detail : detail !== undefined ? JSON.stringify(detail) : code;
  const listed = answer && Array.isArray(answer.problems) ? answer.problems : [];
  const problems = listed.flatMap((p): SalesProblem[] => {
    const problem = record(p);
    if (!problem) return [];
    return [
      {
        row: numberOrNull(problem.row),
        column: typeof problem.column === "string" ? problem.column : null,
        message: text(problem.message),
      },
    ];
  });
  return {
    kind: "refused",
    code,
    message,
    problems,
    moreProblems: numberOrNull(answer?.more_problems ?? answer?.moreProblems) ?? 0,
  };
}

export interface PointInput {
  week: string;
  mean: number;
  lo90: number;
  hi90: number;
  actual?: number | null;
}

export interface BandChart {
  weeks: string[];
  mean: number[];
  /** The interval's lower end, and its width stacked on it (ECharts draws the band so). */
  lower: number[];
  width: number[];
  upper: number[];
  /** Null where the week's sales have not come in. */
  actual: (number | null)[];
  /** Actuals in, and how many of them fell inside the interval. */
  actuals: number;
  inside: number;
}

/** A series' weeks as a band chart: the 90% interval around the mean, the actuals on it. */
export function bandChart(points: readonly PointInput[]): BandChart {
  const sorted = [...points].sort((a, b) => a.week.localeCompare(b.week));
  let actuals = 0;
  let inside = 0;
  for (const p of sorted) {
    if (p.actual === null || p.actual === undefined) continue;
    actuals += 1;
    if (p.actual >= p.lo90 && p.actual <= p.hi90) inside += 1;
  }
  return {
    weeks: sorted.map((p) => p.week),
    mean: sorted.map((p) => round(p.mean)),
    lower: sorted.map((p) => round(p.lo90)),
    width: sorted.map((p) => round(Math.max(0, p.hi90 - p.lo90))),
    upper: sorted.map((p) => round(p.hi90)),
    actual: sorted.map((p) => (p.actual === null || p.actual === undefined ? null : p.actual)),
    actuals,
    inside,
  };
}

export type Level = "TOTAL" | "PRODUCT" | "SKU" | "REGION" | "CHANNEL";

/** What a forecast put below each SKU: its regions, or its sales channels. */
export type Below = "REGION" | "CHANNEL";

/** A series' level from its name (`total`, `<product>`, `<product>/<sku>`, and below a SKU
 * `<product>/<sku>/<region or channel>`, whichever the forecast was made by). */
export function levelOf(name: string, below: Below): Level {
  const depth = name === "total" ? 0 : name.split("/").length;
  return depth === 0 ? "TOTAL" : depth === 1 ? "PRODUCT" : depth === 2 ? "SKU" : below;
}

export interface SeriesChoice {
  name: string;
  level: Level;
}

const LEVEL_ORDER: Record<Level, number> = { TOTAL: 0, PRODUCT: 1, SKU: 2, REGION: 3, CHANNEL: 3 };

/** The series in the order a reader looks for them: the total, products, then their SKUs and
 * each SKU's regions (or channels). */
export function orderSeries<T extends SeriesChoice>(series: readonly T[]): T[] {
  return [...series].sort((a, b) => {
    const product = (s: SeriesChoice) => (s.level === "TOTAL" ? "" : s.name.split("/")[0]);
    return (
      (product(a) ?? "").localeCompare(product(b) ?? "") ||
      LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
      a.name.localeCompare(b.name)
    );
  });
}

export interface Figures {
  mase?: number | null;
  rmsse?: number | null;
  bias?: number | null;
  coverage?: number | null;
}

/** Coverage within this far of the interval's 90% reads as well calibrated. */
export const COVERAGE_TOLERANCE = 0.1;

/** Good, or worth a look: MASE under 1 beats the naive forecast; coverage near 0.9. */
export function judge(figures: Figures): {
  mase: "good" | "poor" | null;
  coverage: "good" | "poor" | null;
} {
  const mase = figures.mase ?? null;
  const coverage = figures.coverage ?? null;
  return {
    mase: mase === null ? null : mase < 1 ? "good" : "poor",
    coverage:
      coverage === null ? null : Math.abs(coverage - 0.9) <= COVERAGE_TOLERANCE ? "good" : "poor",
  };
}

export interface MoveInput {
  sku: string;
  week: string;
  before: number;
  after: number;
  change?: number;
  frozen: boolean;
}

export interface MovesChart {
  weeks: string[];
  before: number[];
  after: number[];
}

/** Units proposed a week before and after a re-plan, over every SKU. */
export function movesChart(moves: readonly MoveInput[]): MovesChart {
  const byWeek = new Map<string, { before: number; after: number }>();
  for (const move of moves) {
    const week = byWeek.get(move.week) ?? { before: 0, after: 0 };
    week.before += move.before;
    week.after += move.after;
    byWeek.set(move.week, week);
  }
  const weeks = [...byWeek.keys()].sort();
  return {
    weeks,
    before: weeks.map((w) => byWeek.get(w)?.before ?? 0),
    after: weeks.map((w) => byWeek.get(w)?.after ?? 0),
  };
}

/** The moves that changed something, largest change first (frozen ones never do). */
export function changedMoves<T extends MoveInput>(moves: readonly T[]): T[] {
  return moves
    .filter((m) => m.after !== m.before)
    .sort(
      (a, b) =>
        Math.abs(b.after - b.before) - Math.abs(a.after - a.before) ||
        a.week.localeCompare(b.week) ||
        a.sku.localeCompare(b.sku),
    );
}

export interface VariantGroup<T> {
  /** Empty: the base routing. */
  variant: string;
  skus: T[];
}

/** SKUs by routing variant (the base first), each group by code: what is made together. */
export function variantGroups<T extends { variant: string; code: string }>(
  skus: readonly T[],
): VariantGroup<T>[] {
  const groups = new Map<string, T[]>();
  for (const sku of skus) groups.set(sku.variant, [...(groups.get(sku.variant) ?? []), sku]);
  return [...groups.entries()]
    .sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))
    .map(([variant, list]) => ({
      variant,
      skus: [...list].sort((a, b) => a.code.localeCompare(b.code)),
    }));
}

export interface ProposalInput {
  id: string;
  productId: string;
  variant: string;
  week: string;
  quantity: number;
  status: string;
}

/** The lots accepting these proposals makes: one per product, variant and week. */
export function lotsOf(proposals: readonly ProposalInput[]): {
  lots: number;
  units: number;
} {
  const keys = new Set<string>();
  let units = 0;
  for (const p of proposals) {
    keys.add(`${p.productId}|${p.variant}|${p.week}`);
    units += p.quantity;
  }
  return { lots: keys.size, units };
}

/** Only open proposals can be accepted or rejected. */
export function selectable(proposal: { status: string }): boolean {
  return proposal.status === "PROPOSED";
}

/** The node's limits: a forecast runs 1 to 52 weeks ahead. */
export const MAX_HORIZON = 52;

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
