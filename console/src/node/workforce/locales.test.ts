import { describe, expect, it } from "vitest";
import en from "./locales/en.json";
import zh from "./locales/zh-CN.json";

function keys(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object") return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
    keys(inner, prefix ? `${prefix}.${key}` : key),
  );
}

/** Plural forms differ by language (English has "one", Chinese only "other"). */
const base = (key: string) => key.replace(/_(one|other)$/, "");

describe("workforce locales", () => {
  it("say the same things in English and Chinese", () => {
    expect([...new Set(keys(zh).map(base))].sort()).toEqual(
      [...new Set(keys(en).map(base))].sort(),
    );
  });
});
