import { describe, expect, it } from "vitest";
import {
  type ChartPoint,
  chooseResolution,
  DAY_MS,
  followsNow,
  fromApi,
  HOUR_MS,
  isRangeId,
  keepLive,
  LIVE_KEEP,
  MINUTE_MS,
  mergeReadings,
  queryWindow,
  RANGES,
  toSeriesData,
  trimToWindow,
} from "./telemetry";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const raw = (at: number, value: number): ChartPoint => ({
  at,
  value,
  count: 1,
  min: null,
  max: null,
});

describe("chooseResolution", () => {
  it("asks raw readings up to two hours, minutes up to three days, hours beyond", () => {
    expect(chooseResolution(15 * MINUTE_MS)).toBe("RAW");
    expect(chooseResolution(2 * HOUR_MS)).toBe("RAW");
    expect(chooseResolution(2 * HOUR_MS + 1)).toBe("MINUTE");
    expect(chooseResolution(DAY_MS)).toBe("MINUTE");
    expect(chooseResolution(3 * DAY_MS)).toBe("MINUTE");
    expect(chooseResolution(7 * DAY_MS)).toBe("HOUR");
  });

  it("gives each picker range the resolution its length calls for", () => {
    const chosen = Object.fromEntries(
      Object.entries(RANGES).map(([id, ms]) => [id, chooseResolution(ms)]),
    );
    expect(chosen).toEqual({
      "15m": "RAW",
      "1h": "RAW",
      "6h": "MINUTE",
      "24h": "MINUTE",
      "7d": "HOUR",
      "30d": "HOUR",
    });
  });
});

describe("queryWindow", () => {
  it("is the whole range up to now without a zoom", () => {
    expect(queryWindow(HOUR_MS, T0, null)).toEqual({ start: T0 - HOUR_MS, end: T0 });
  });

  it("is the zoomed part, clamped to the range", () => {
    const window = queryWindow(DAY_MS, T0, { start: T0 - 2 * DAY_MS, end: T0 - 23 * HOUR_MS });
    expect(window).toEqual({ start: T0 - DAY_MS, end: T0 - 23 * HOUR_MS });
    // A zoom into one hour of a week switches to raw readings.
    const week = queryWindow(7 * DAY_MS, T0, { start: T0 - 3 * HOUR_MS, end: T0 - 2 * HOUR_MS });
    expect(chooseResolution(week.end - week.start)).toBe("RAW");
  });

  it("widens a zoom narrower than a minute around its middle", () => {
    const window = queryWindow(HOUR_MS, T0, { start: T0 - 20_000, end: T0 - 10_000 });
    expect(window.end - window.start).toBe(MINUTE_MS);
    expect((window.start + window.end) / 2).toBe(T0 - 15_000);
  });

  it("tells whether a window still follows now", () => {
    expect(followsNow({ start: 0, end: T0 - 30_000 }, T0)).toBe(true);
    expect(followsNow({ start: 0, end: T0 - 5 * MINUTE_MS }, T0)).toBe(false);
  });
});

describe("mergeReadings", () => {
  const window = { start: T0, end: Number.POSITIVE_INFINITY };

  it("appends raw readings of the chosen metric in time order", () => {
    const points = [raw(T0, 1), raw(T0 + 2000, 3)];
    const merged = mergeReadings(
      points,
      [
        { metric: "temp", at: iso(T0 + 3000), value: 4 },
        { metric: "other", at: iso(T0 + 3500), value: 99 },
        { metric: "temp", at: iso(T0 + 1000), value: 2 },
      ],
      "temp",
      "RAW",
      window,
    );
    expect(merged.map((p) => [p.at - T0, p.value])).toEqual([
      [0, 1],
      [1000, 2],
      [2000, 3],
      [3000, 4],
    ]);
    expect(points).toHaveLength(2);
  });

  it("replaces a raw reading sent twice (the node stores it once)", () => {
    const merged = mergeReadings(
      [raw(T0, 1)],
      [{ metric: "temp", at: iso(T0), value: 5 }],
      "temp",
      "RAW",
      window,
    );
    expect(merged).toEqual([raw(T0, 5)]);
  });

  it("folds readings into minute buckets: mean, count, min and max", () => {
    const bucket: ChartPoint = { at: T0, value: 10, count: 2, min: 8, max: 12 };
    const merged = mergeReadings(
      [bucket],
      [
        { metric: "temp", at: iso(T0 + 30_000), value: 16 },
        { metric: "temp", at: iso(T0 + MINUTE_MS + 5_000), value: 7 },
      ],
      "temp",
      "MINUTE",
      window,
    );
    expect(merged).toEqual([
      { at: T0, value: 12, count: 3, min: 8, max: 16 },
      { at: T0 + MINUTE_MS, value: 7, count: 1, min: 7, max: 7 },
    ]);
  });

  it("leaves out readings before the window (the node's answer holds them)", () => {
    const points = [raw(T0, 1)];
    const merged = mergeReadings(
      points,
      [{ metric: "temp", at: iso(T0 - 1), value: 0 }],
      "temp",
      "RAW",
      window,
    );
    expect(merged).toBe(points);
  });
});

describe("series shaping", () => {
  it("reads the node's points and drops those with a bad time", () => {
    expect(
      fromApi([
        { at: iso(T0), value: 1, count: 1 },
        { at: "not a time", value: 2, count: 1 },
        { at: iso(T0 + HOUR_MS), value: 3, count: 60, min: 1, max: 5 },
      ]),
    ).toEqual([raw(T0, 1), { at: T0 + HOUR_MS, value: 3, count: 60, min: 1, max: 5 }]);
  });

  it("trims what fell out of a window that follows now", () => {
    const points = [raw(T0, 1), raw(T0 + 1000, 2), raw(T0 + 2000, 3)];
    expect(trimToWindow(points, T0 + 1000).map((p) => p.value)).toEqual([2, 3]);
    expect(trimToWindow(points, T0)).toBe(points);
  });

  it("gives ECharts [time, value] pairs and a min-max band for rollups", () => {
    const data = toSeriesData([
      raw(T0, 1),
      { at: T0 + HOUR_MS, value: 3, count: 2, min: 2, max: 4 },
    ]);
    expect(data.line).toEqual([
      [T0, 1],
      [T0 + HOUR_MS, 3],
    ]);
    expect(data.band).toEqual([[T0 + HOUR_MS, 2, 4]]);
  });

  it("knows the picker's ranges", () => {
    expect(isRangeId("24h")).toBe(true);
    expect(isRangeId("toString")).toBe(false);
    expect(isRangeId(null)).toBe(false);
  });
});

describe("keepLive", () => {
  const event = (...readings: [string, number, number][]) => ({
    deviceTelemetry: {
      readings: readings.map(([metric, at, value]) => ({ metric, at: iso(at), value })),
    },
  });

  it("keeps readings in arrival order", () => {
    const first = keepLive(undefined, event(["temp_c", T0, 1]));
    const second = keepLive(first, event(["temp_c", T0 + 1000, 2], ["rpm", T0 + 1000, 3]));
    expect(second.readings.map((r) => r.value)).toEqual([1, 2, 3]);
  });

  it("does not keep a reading twice when the subscription reads back what it sent", () => {
    const kept = keepLive(undefined, event(["temp_c", T0, 1], ["temp_c", T0 + 1000, 2]));
    // Reconnected: the stored readings since the page opened come again, then a new one.
    const again = keepLive(kept, event(["temp_c", T0, 1], ["temp_c", T0 + 1000, 2]));
    const next = keepLive(again, event(["temp_c", T0 + 2000, 4], ["rpm", T0 + 1000, 5]));
    expect(next.readings.map((r) => r.value)).toEqual([1, 2, 4, 5]);
  });

  it("keeps only the newest readings", () => {
    let live = keepLive(undefined, event(["temp_c", T0, 0]));
    for (let i = 1; i <= LIVE_KEEP; i++) live = keepLive(live, event(["temp_c", T0 + i, i]));
    expect(live.readings).toHaveLength(LIVE_KEEP);
    expect(live.readings[0]?.value).toBe(1);
  });
});
