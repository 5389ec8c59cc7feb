/**
 * The telemetry chart's logic, kept free of React and ECharts: which rollup a time range asks
 * for, the ranges the picker offers, and how the node's points and live readings become one
 * series.
 */

export type Resolution = "RAW" | "MINUTE" | "HOUR";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Ranges the picker offers, by id (the URL keeps the id). */
export const RANGES = {
  "15m": 15 * MINUTE_MS,
  "1h": HOUR_MS,
  "6h": 6 * HOUR_MS,
  "24h": DAY_MS,
  "7d": 7 * DAY_MS,
  "30d": 30 * DAY_MS,
} as const;

export type RangeId = keyof typeof RANGES;
export const DEFAULT_RANGE: RangeId = "15m";

export function isRangeId(value: string | null | undefined): value is RangeId {
  return value !== null && value !== undefined && Object.hasOwn(RANGES, value);
}

/** Raw readings up to two hours (a reading a second is 7,200 points), minutes up to three days. */
export const RAW_MAX_MS = 2 * HOUR_MS;
export const MINUTE_MAX_MS = 3 * DAY_MS;
/** What one query asks at most (the node allows 10,000). */
export const POINT_LIMIT = 5000;

/** The resolution for a window of `lengthMs`: the finest that keeps the points few enough. */
export function chooseResolution(lengthMs: number): Resolution {
  if (lengthMs <= RAW_MAX_MS) return "RAW";
  if (lengthMs <= MINUTE_MAX_MS) return "MINUTE";
  return "HOUR";
}

export function bucketSize(resolution: Resolution): number {
  if (resolution === "MINUTE") return MINUTE_MS;
  if (resolution === "HOUR") return HOUR_MS;
  return 0;
}

export interface Window {
  start: number;
  end: number;
}

/**
 * The window to query: the zoomed part of the range when there is one (at least a minute wide),
 * else the whole range up to `now`.
 */
export function queryWindow(rangeMs: number, now: number, zoom: Window | null): Window {
  const full = { start: now - rangeMs, end: now };
  if (!zoom) return full;
  const start = Math.max(full.start, Math.min(zoom.start, zoom.end));
  const end = Math.min(full.end, Math.max(zoom.start, zoom.end));
  if (end - start < MINUTE_MS) {
    const middle = (start + end) / 2;
    return { start: middle - MINUTE_MS / 2, end: middle + MINUTE_MS / 2 };
  }
  return { start, end };
}

/** Whether a zoom reaches the range's end, so new readings belong on screen. */
export function followsNow(window: Window, now: number, slackMs = MINUTE_MS): boolean {
  return now - window.end <= slackMs;
}

/** A point as drawn: time (ms), value, and for a rollup its count, min and max. */
export interface ChartPoint {
  at: number;
  value: number;
  count: number;
  min: number | null;
  max: number | null;
}

export interface ApiPoint {
  at: string;
  value: number;
  count: number;
  min?: number | null;
  max?: number | null;
}

export interface LiveReading {
  metric: string;
  at: string;
  value: number;
}

export function fromApi(points: readonly ApiPoint[]): ChartPoint[] {
  return points
    .map((point) => ({
      at: Date.parse(point.at),
      value: point.value,
      count: point.count,
      min: point.min ?? null,
      max: point.max ?? null,
    }))
    .filter((point) => !Number.isNaN(point.at));
}

/**
 * Adds live readings of `metric` to a series ordered by time. Raw: each reading is a point (the
 * same time twice is stored once by the node, so it replaces). A rollup: the reading joins its
 * bucket's mean, count, min and max, opening the bucket when it is new. Readings whose time is
 * outside the window are left out (the chart passes from the end of what the node answered, so a
 * reading is never counted twice). Returns the same array when nothing changed.
 */
export function mergeReadings(
  points: ChartPoint[],
  readings: readonly LiveReading[],
  metric: string,
  resolution: Resolution,
  window: Window,
): ChartPoint[] {
  const size = bucketSize(resolution);
  let result = points;
  for (const reading of readings) {
    if (reading.metric !== metric) continue;
    const at = Date.parse(reading.at);
    if (Number.isNaN(at)) continue;
    const key = size ? Math.floor(at / size) * size : at;
    if (at < window.start || at >= window.end) continue;
    if (result === points) result = points.slice();
    const index = insertionIndex(result, key);
    const existing = result[index];
    if (existing && existing.at === key) {
      result[index] = size
        ? {
            at: key,
            count: existing.count + 1,
            value: (existing.value * existing.count + reading.value) / (existing.count + 1),
            min: Math.min(existing.min ?? existing.value, reading.value),
            max: Math.max(existing.max ?? existing.value, reading.value),
          }
        : { at: key, value: reading.value, count: 1, min: null, max: null };
    } else {
      result.splice(index, 0, {
        at: key,
        value: reading.value,
        count: 1,
        min: size ? reading.value : null,
        max: size ? reading.value : null,
      });
    }
  }
  return result;
}

/** The first index whose time is not before `at` (binary search; appends are the usual case). */
function insertionIndex(points: ChartPoint[], at: number): number {
  const last = points[points.length - 1];
  if (!last || last.at < at) return points.length;
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const point = points[middle];
    if (point && point.at < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Drops points that fell out of a window following now (a live chart keeps its length). */
export function trimToWindow(points: ChartPoint[], start: number): ChartPoint[] {
  const first = points[0];
  if (!first || first.at >= start) return points;
  const index = insertionIndex(points, start);
  return points.slice(index);
}

/** The series as ECharts data: [time, value] pairs, and for a rollup the min-max band. */
export function toSeriesData(points: readonly ChartPoint[]): {
  line: [number, number][];
  band: [number, number, number][];
} {
  const line: [number, number][] = [];
  const band: [number, number, number][] = [];
  for (const point of points) {
    line.push([point.at, point.value]);
    if (point.min !== null && point.max !== null) {
      band.push([point.at, point.min, point.max]);
    }
  }
  return { line, band };
}

/** How many live readings the page keeps (the chart folds them into its series). */
export const LIVE_KEEP = 5000;

export interface Live {
  readings: LiveReading[];
  at: number;
}

/** Adds an event's readings to what the page keeps; one already kept (the subscription reads
 * back what was stored since the page opened, again after it reconnects) is not added twice. */
export function keepLive(
  previous: Live | undefined,
  event: { deviceTelemetry: { readings: LiveReading[] } },
): Live {
  const kept = previous?.readings ?? [];
  const last = kept.at(-1);
  const newest = last ? Date.parse(last.at) : Number.NEGATIVE_INFINITY;
  let incoming = event.deviceTelemetry.readings;
  if (incoming.some((reading) => Date.parse(reading.at) <= newest)) {
    const seen = new Set(kept.map((reading) => `${reading.metric}@${Date.parse(reading.at)}`));
    incoming = incoming.filter(
      (reading) => !seen.has(`${reading.metric}@${Date.parse(reading.at)}`),
    );
  }
  const readings = [...kept, ...incoming];
  return {
    readings: readings.length > LIVE_KEEP ? readings.slice(readings.length - LIVE_KEEP) : readings,
    at: Date.now(),
  };
}
