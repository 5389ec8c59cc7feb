/**
 * The capacity calendar as a heat map: one row per process, one column per day of the period,
 * a cell's value the chosen measure of that process on that day. Dates are ISO `YYYY-MM-DD`
 * strings, computed in UTC so that no time zone shifts a day.
 */

export const CAPACITY_MEASURES = [
  "availableHours",
  "availableUnits",
  "downtimeHours",
  "hourlyRate",
] as const;
export type CapacityMeasure = (typeof CAPACITY_MEASURES)[number];

export interface CapacityEntry {
  process: string;
  day: string;
  availableHours?: number | null;
  availableUnits?: number | null;
  downtimeHours: number;
  hourlyRate?: number | null;
  note?: string | null;
}

export interface HeatmapCell {
  /** [day index, process index, value] as ECharts' heatmap reads it. */
  value: [number, number, number];
  note: string | null;
}

export interface CapacityHeatmap {
  days: string[];
  processes: string[];
  cells: HeatmapCell[];
  /** Smallest and largest value among the cells; both 0 when there is none. */
  min: number;
  max: number;
  /** Entries of the period without the measure (an entry in units when hours are shown). */
  withoutMeasure: number;
}

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDay(value: string | null | undefined): value is string {
  if (!value) return false;
  const match = ISO_DAY.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

/** `day` moved by `count` days (negative: back). */
export function addDays(day: string, count: number): string {
  const match = ISO_DAY.exec(day);
  if (!match) throw new Error(`not a day: ${day}`);
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  date.setUTCDate(date.getUTCDate() + count);
  return date.toISOString().slice(0, 10);
}

/** The local calendar day of `now`, as the person in front of the screen sees it. */
export function localToday(now: Date = new Date()): string {
  const month = String(now.getMonth() + 1).padStart(2, "0");
  const day = String(now.getDate()).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${day}`;
}

/** Every day from `start`, `count` of them. */
export function daysFrom(start: string, count: number): string[] {
  return Array.from({ length: Math.max(0, count) }, (_, index) => addDays(start, index));
}

/**
 * The heat map of `entries` over `count` days from `start`: processes sorted by name, a cell for
 * each entry in the period that has the measure (the last one wins if a process has two for a
 * day). Days without an entry have no cell, so they read as "no calendar", not as zero.
 */
export function shapeCapacity(
  entries: readonly CapacityEntry[],
  start: string,
  count: number,
  measure: CapacityMeasure,
): CapacityHeatmap {
  const days = daysFrom(start, count);
  const dayIndex = new Map(days.map((day, index) => [day, index]));
  const inPeriod = entries.filter((entry) => dayIndex.has(entry.day));
  const processes = [...new Set(inPeriod.map((entry) => entry.process))].sort((a, b) =>
    a.localeCompare(b),
  );
  const processIndex = new Map(processes.map((process, index) => [process, index]));
  const cells = new Map<string, HeatmapCell>();
  let withoutMeasure = 0;
  for (const entry of inPeriod) {
    const value = entry[measure];
    if (value === null || value === undefined || Number.isNaN(value)) {
      withoutMeasure += 1;
      continue;
    }
    const x = dayIndex.get(entry.day) as number;
    const y = processIndex.get(entry.process) as number;
    cells.set(`${x}:${y}`, { value: [x, y, value], note: entry.note ?? null });
  }
  const list = [...cells.values()].sort(
    (a, b) => a.value[1] - b.value[1] || a.value[0] - b.value[0],
  );
  const values = list.map((cell) => cell.value[2]);
  return {
    days,
    processes,
    cells: list,
    min: values.length ? Math.min(...values) : 0,
    max: values.length ? Math.max(...values) : 0,
    withoutMeasure,
  };
}

/** The measure to show when none was chosen: hours where the calendar has them, else units. */
export function defaultMeasure(entries: readonly CapacityEntry[]): CapacityMeasure {
  const has = (measure: CapacityMeasure) =>
    entries.some((entry) => entry[measure] !== null && entry[measure] !== undefined);
  return (["availableHours", "availableUnits"] as const).find(has) ?? "availableHours";
}

export interface CapacityFormValues {
  process: string;
  from: string;
  days: number;
  /** Weekdays (0 Sunday ... 6 Saturday) that get the entry; all when empty. */
  weekdays?: number[];
  availableHours?: number | null;
  availableUnits?: number | null;
  downtimeHours?: number | null;
  hourlyRate?: number | null;
  note?: string;
}

export interface CapacityDayValues {
  process: string;
  day: string;
  availableHours: number | null;
  availableUnits: number | null;
  downtimeHours: number;
  hourlyRate: number | null;
  note: string | null;
}

function given(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The weekday of an ISO day (0 Sunday), the same everywhere. */
export function weekday(day: string): number {
  return new Date(`${day}T00:00:00Z`).getUTCDay();
}

/** One entry per chosen day of the range, as `setFactoryCapacity` takes them. */
export function capacityDays(values: CapacityFormValues): CapacityDayValues[] {
  const weekdays = values.weekdays?.length ? new Set(values.weekdays) : null;
  const note = values.note?.trim() || null;
  return daysFrom(values.from, values.days)
    .filter((day) => !weekdays || weekdays.has(weekday(day)))
    .map((day) => ({
      process: values.process.trim(),
      day,
      availableHours: given(values.availableHours),
      availableUnits: given(values.availableUnits),
      downtimeHours: given(values.downtimeHours) ?? 0,
      hourlyRate: given(values.hourlyRate),
      note,
    }));
}
