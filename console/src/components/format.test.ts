import { describe, expect, it } from "vitest";
import { formatDateTime, formatNumber, formatRelative } from "./format";

describe("format", () => {
  it("formats numbers per language", () => {
    expect(formatNumber(1234567.5, "en")).toBe("1,234,567.5");
    expect(formatNumber(null, "en")).toBe("—");
  });

  it("formats relative times both ways", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatRelative("2026-01-01T11:57:00Z", "en", now)).toBe("3 minutes ago");
    expect(formatRelative("2026-01-01T14:00:00Z", "en", now)).toBe("in 2 hours");
    expect(formatRelative("2026-01-01T11:57:00Z", "zh-CN", now)).toBe("3分钟前");
    expect(formatRelative(null, "en", now)).toBe("—");
  });

  it("leaves a missing or bad date as a dash", () => {
    expect(formatDateTime(undefined, "en")).toBe("—");
    expect(formatDateTime("not a date", "en")).toBe("—");
  });
});
