import { describe, expect, it } from "vitest";
import en from "./locales/en.json";
import zh from "./locales/zh-CN.json";
import {
  credentialsFile,
  DEVICE_KEY_PATTERN,
  DEVICE_TYPE_PATTERN,
  METRIC_PATTERN,
  payloadPreview,
  presence,
} from "./status";

const NOW = Date.parse("2026-12-01T10:00:00Z");

describe("presence", () => {
  it("is never seen before anything arrived", () => {
    expect(presence({ lastSeenAt: null, connection: "UNKNOWN" }, NOW)).toBe("NEVER_SEEN");
  });

  it("is online while the last reading is inside the window, offline after", () => {
    const at = (s: number) => new Date(NOW - s * 1000).toISOString();
    expect(presence({ lastSeenAt: at(299), connection: "UNKNOWN" }, NOW, 300)).toBe("ONLINE");
    expect(presence({ lastSeenAt: at(301), connection: "UNKNOWN" }, NOW, 300)).toBe("OFFLINE");
    expect(presence({ lastSeenAt: at(301), connection: "UNKNOWN" }, NOW, 600)).toBe("ONLINE");
  });

  it("is online while Sparkplug says so", () => {
    expect(presence({ lastSeenAt: null, connection: "ONLINE" }, NOW)).toBe("ONLINE");
  });
});

describe("credentials file", () => {
  it("holds what the device needs to connect, named after the device", () => {
    const file = credentialsFile({
      deviceId: "d1",
      username: "gd-press-01",
      password: "s3cret",
      telemetryTopic: "yunfab/v1/telemetry/gd-press-01",
      nodeUrl: "http://127.0.0.1:8702/",
    });
    expect(file.name).toBe("gd-press-01-credentials.json");
    expect(JSON.parse(file.text)).toEqual({
      device_id: "d1",
      username: "gd-press-01",
      password: "s3cret",
      mqtt_client_id: "gd-press-01",
      telemetry_topic: "yunfab/v1/telemetry/gd-press-01",
      http_ingest_url: "http://127.0.0.1:8702/api/v1/telemetry",
    });
  });
});

describe("form patterns (as the node checks them)", () => {
  it("accepts keys, types and metrics the node accepts", () => {
    expect(DEVICE_KEY_PATTERN.test("gd-mould-01-imm-03")).toBe(true);
    expect(DEVICE_KEY_PATTERN.test("Press 1")).toBe(false);
    expect(DEVICE_KEY_PATTERN.test("press-")).toBe(false);
    expect(DEVICE_TYPE_PATTERN.test("injection_moulding")).toBe(true);
    expect(METRIC_PATTERN.test("clamp_force_kn")).toBe(true);
    expect(METRIC_PATTERN.test("1st")).toBe(false);
  });
});

describe("payload preview", () => {
  it("shows UTF-8 as text and anything else as hex", () => {
    expect(payloadPreview(btoa('{"ts": 1}'))).toEqual({ text: '{"ts": 1}', binary: false });
    expect(payloadPreview(btoa("\xff\x00"))).toEqual({ text: "ff 00", binary: true });
  });
});

describe("locales", () => {
  const keys = (value: unknown, prefix = ""): string[] =>
    typeof value === "object" && value !== null
      ? Object.entries(value).flatMap(([key, inner]) => keys(inner, `${prefix}${key}.`))
      : [prefix.slice(0, -1)];

  it("has every English string in Chinese too", () => {
    expect(keys(zh).sort()).toEqual(keys(en).sort());
  });
});
