/**
 * Pure shaping for the order pages: the twelve stages, the allocation plan as a factory x day
 * chart, the re-plan's output before and after, and the place-order form's checks (the API
 * checks again and its refusal is shown).
 */

export const STAGES = [
  "PLACED",
  "ACCEPTED",
  "PLANNED",
  "DISPATCHED",
  "CONFIRMED",
  "MATERIALS_READY",
  "IN_PRODUCTION",
  "SEMI_FINISHED",
  "FINISHED",
  "INSPECTED",
  "SHIPPED",
  "DELIVERED",
] as const;

export type Stage = (typeof STAGES)[number];

export function isStage(value: string | null | undefined): value is Stage {
  return (STAGES as readonly string[]).includes(value ?? "");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/orders/:id` takes the order's id or its number (`SO-...`). */
export function orderLookup(param: string): { id: string | null; number: string | null } {
  const value = param.trim();
  return UUID.test(value) ? { id: value, number: null } : { id: null, number: value };
}

export interface StageStep {
  stage: Stage;
  status: "finish" | "process" | "wait";
  at: string | null;
}

/** The timeline: stages reached are done, the order's own stage is current, the rest wait. */
export function stageSteps(
  stage: string,
  progress: readonly { stage: string; reached: boolean; at?: string | null }[],
): { current: number; steps: StageStep[] } {
  const current = Math.max(0, STAGES.indexOf(stage as Stage));
  const byStage = new Map(progress.map((p) => [p.stage, p]));
  const steps = STAGES.map((s, index): StageStep => {
    const reached = byStage.get(s);
    let status: StageStep["status"] = "wait";
    if (index < current || (index === current && s === "DELIVERED")) status = "finish";
    else if (index === current) status = "process";
    return { stage: s, status, at: reached?.reached ? (reached.at ?? null) : null };
  });
  return { current, steps };
}

export interface AllocationInput {
  step: string;
  day: string;
  units: number;
  factoryId: string;
  factory: { name: string };
}

export interface StackedSeries {
  name: string;
  data: number[];
}

export interface FactoryDayChart {
  days: string[];
  series: StackedSeries[];
  total: number;
}

/**
 * Units per factory and day (one stacked series per factory, days in order, factories by
 * their total, largest first); `step` keeps one routing step, null sums them all.
 */
export function factoryDayChart(
  allocations: readonly AllocationInput[],
  step: string | null = null,
): FactoryDayChart {
  const kept = step === null ? allocations : allocations.filter((a) => a.step === step);
  const days = [...new Set(kept.map((a) => a.day))].sort();
  const dayIndex = new Map(days.map((day, index) => [day, index]));
  const byFactory = new Map<string, { name: string; data: number[]; total: number }>();
  let total = 0;
  for (const a of kept) {
    let row = byFactory.get(a.factoryId);
    if (!row) {
      row = { name: a.factory.name, data: days.map(() => 0), total: 0 };
      byFactory.set(a.factoryId, row);
    }
    const index = dayIndex.get(a.day) ?? 0;
    row.data[index] = round((row.data[index] ?? 0) + a.units);
    row.total += a.units;
    total += a.units;
  }
  const series = [...byFactory.values()]
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
    .map(({ name, data }) => ({ name, data }));
  return { days, series, total: round(total) };
}

/** The routing steps the allocations cover, in the order first met. */
export function allocationSteps(allocations: readonly { step: string }[]): string[] {
  return [...new Set(allocations.map((a) => a.step))];
}

export interface DayUnits {
  day?: string | null;
  units?: number | null;
}

/** Finished products a day before and after a re-plan, on the union of their days. */
export function beforeAfterChart(
  before: readonly DayUnits[],
  after: readonly DayUnits[],
): { days: string[]; before: number[]; after: number[] } {
  const toMap = (rows: readonly DayUnits[]) => {
    const map = new Map<string, number>();
    for (const row of rows) {
      if (row.day) map.set(row.day, round((map.get(row.day) ?? 0) + (row.units ?? 0)));
    }
    return map;
  };
  const b = toMap(before);
  const a = toMap(after);
  const days = [...new Set([...b.keys(), ...a.keys()])].sort();
  return {
    days,
    before: days.map((day) => b.get(day) ?? 0),
    after: days.map((day) => a.get(day) ?? 0),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The largest quantity the node takes (regional_node.orders.service.MAX_QUANTITY). */
export const MAX_QUANTITY = 10_000_000;
/** The due date at most this many days after the start. */
export const MAX_SPAN_DAYS = 366;

export interface PlaceOrderValues {
  product?: string | null;
  quantity?: number | null;
  dailyTarget?: number | null;
  startDate?: string | null;
  dueDate?: string | null;
  rampDays?: number | null;
  buyerReference?: string | null;
  note?: string | null;
}

/** i18n keys of the form's problems, by field. */
export type PlaceOrderErrors = Partial<Record<keyof PlaceOrderValues, string>>;

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function dayNumber(value: string): number | null {
  if (!ISO_DAY.test(value)) return null;
  const time = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(time) ? null : Math.round(time / 86_400_000);
}

function isWhole(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

/** Checks the form as the API will; `today` is an ISO day (the start when none is given). */
export function validatePlaceOrder(values: PlaceOrderValues, today: string): PlaceOrderErrors {
  const errors: PlaceOrderErrors = {};
  if (!values.product) errors.product = "form.errors.product";
  if (!isWhole(values.quantity) || values.quantity < 1 || values.quantity > MAX_QUANTITY) {
    errors.quantity = "form.errors.quantity";
  }
  if (!isWhole(values.dailyTarget) || values.dailyTarget < 1 || values.dailyTarget > MAX_QUANTITY) {
    errors.dailyTarget = "form.errors.dailyTarget";
  }
  const start = dayNumber(values.startDate || today);
  if (values.startDate && start === null) errors.startDate = "form.errors.date";
  const due = values.dueDate ? dayNumber(values.dueDate) : null;
  if (!values.dueDate) errors.dueDate = "form.errors.dueRequired";
  else if (due === null) errors.dueDate = "form.errors.date";
  else if (start !== null && due < start) errors.dueDate = "form.errors.dueBeforeStart";
  else if (start !== null && due - start > MAX_SPAN_DAYS) errors.dueDate = "form.errors.span";
  const ramp = values.rampDays ?? 0;
  if (!isWhole(ramp) || ramp < 0) errors.rampDays = "form.errors.rampDays";
  else if (start !== null && due !== null && due >= start && ramp > due - start) {
    errors.rampDays = "form.errors.rampDays";
  }
  return errors;
}

/** The mutation's input from valid form values (blank optional fields left out). */
export function placeOrderInput(values: PlaceOrderValues) {
  const text = (value: string | null | undefined) => {
    const trimmed = (value ?? "").trim();
    return trimmed === "" ? null : trimmed;
  };
  return {
    product: values.product ?? "",
    quantity: values.quantity ?? 0,
    dailyTarget: values.dailyTarget ?? 0,
    dueDate: values.dueDate ?? "",
    startDate: text(values.startDate),
    rampDays: values.rampDays ?? 0,
    buyerReference: text(values.buyerReference),
    note: text(values.note),
  };
}
