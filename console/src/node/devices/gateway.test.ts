import { describe, expect, it } from "vitest";
import { configState, isStale, pointRows, pointValue, summarize } from "./gateway";
import en from "./locales/en.json";
import zh from "./locales/zh-CN.json";

const point = (deviceKey: string, metric: string, failing = false) => ({
  connector: deviceKey === "m-1" ? "imm" : "meter",
  deviceKey,
  metric,
  unit: "1",
  source: "",
  failing,
});

describe("pointRows", () => {
  it("puts failing points first, then by machine and metric, with unique keys", () => {
    const rows = pointRows([
      point("m-2", "power_w"),
      point("m-1", "shots"),
      point("m-2", "spare", true),
      point("m-1", "clamp_force_kn"),
    ]);
    expect(rows.map((r) => `${r.deviceKey}:${r.metric}`)).toEqual([
      "m-2:spare",
      "m-1:clamp_force_kn",
      "m-1:shots",
      "m-2:power_w",
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(4);
  });
});

describe("summarize", () => {
  it("counts points, failing ones, machines and connectors up and down", () => {
    const summary = summarize(
      [point("m-1", "a"), point("m-1", "b", true), point("m-2", "c")],
      [
        { name: "imm", up: true },
        { name: "meter", up: false, lastError: "timed out" },
      ],
    );
    expect(summary).toEqual({
      points: 3,
      failing: 1,
      machines: 2,
      connectorsUp: 1,
      connectorsDown: 1,
    });
  });
});

describe("pointValue", () => {
  it("keeps numbers, booleans and texts apart, and nothing for the rest", () => {
    expect(pointValue(12.5)).toEqual({ kind: "number", value: 12.5 });
    expect(pointValue(0)).toEqual({ kind: "number", value: 0 });
    expect(pointValue(false)).toEqual({ kind: "bool", value: false });
    expect(pointValue("M-0042")).toEqual({ kind: "text", value: "M-0042" });
    expect(pointValue(null)).toEqual({ kind: "none" });
    expect(pointValue(undefined)).toEqual({ kind: "none" });
    expect(pointValue(Number.NaN)).toEqual({ kind: "none" });
  });
});

describe("isStale", () => {
  const now = Date.parse("2026-12-07T10:00:00Z");
  it("is stale without a report or when the report is old", () => {
    expect(isStale(null, now)).toBe(true);
    expect(isStale("2026-12-07T09:59:00Z", now)).toBe(false);
    expect(isStale("2026-12-07T09:57:00Z", now)).toBe(true);
    expect(isStale("2026-12-07T09:57:00Z", now, 600)).toBe(false);
  });
});

describe("configState", () => {
  it("runs the file until the node holds a version", () => {
    expect(configState({})).toEqual({ running: null, pending: null, refused: null });
  });

  it("is pending while the gateway has not taken the newest version", () => {
    expect(configState({ configVersion: 1, configLatest: 2 })).toEqual({
      running: 1,
      pending: 2,
      refused: null,
    });
    expect(configState({ configVersion: 2, configLatest: 2 }).pending).toBeNull();
  });

  it("shows a refusal of the newest version, not of one pushed over since", () => {
    const refused = {
      configVersion: 1,
      configLatest: 2,
      configRefusedVersion: 2,
      configRefusedError: "mqtt.password_file: no such file",
    };
    expect(configState(refused)).toEqual({
      running: 1,
      pending: null,
      refused: { version: 2, error: "mqtt.password_file: no such file" },
    });
    expect(configState({ ...refused, configLatest: 3 })).toEqual({
      running: 1,
      pending: 3,
      refused: null,
    });
  });
});

describe("gateway strings", () => {
  it("exist in both languages", () => {
    expect(Object.keys(zh.gateway).sort()).toEqual(Object.keys(en.gateway).sort());
  });
});
