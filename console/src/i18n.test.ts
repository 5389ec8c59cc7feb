import { describe, expect, it, vi } from "vitest";

vi.mock("react-i18next", () => ({ initReactI18next: { type: "3rdParty", init: () => {} } }));

const { collectResources, initialLanguage } = await import("./i18n");

describe("i18n", () => {
  it("makes a namespace of each area's folder", () => {
    const resources = collectResources(
      { "./locales/common/en.json": { ok: "OK" }, "./locales/common/zh-CN.json": { ok: "好" } },
      {
        "./node/overview/locales/en.json": { menu: "Overview" },
        "./node/overview/locales/zh-CN.json": { menu: "概览" },
        "./hub/nodes/locales/en.json": { menu: "Nodes" },
      },
    );
    expect(resources).toEqual({
      en: { common: { ok: "OK" }, overview: { menu: "Overview" }, nodes: { menu: "Nodes" } },
      "zh-CN": { common: { ok: "好" }, overview: { menu: "概览" } },
    });
  });

  it("follows the person's choice, else the browser (zh-CN unless English)", () => {
    expect(initialLanguage("en", ["zh-CN"])).toBe("en");
    expect(initialLanguage(null, ["en-GB", "zh"])).toBe("en");
    expect(initialLanguage(null, ["zh-TW"])).toBe("zh-CN");
    expect(initialLanguage("fr", ["de-DE"])).toBe("zh-CN");
  });
});
