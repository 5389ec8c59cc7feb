/**
 * i18next with one namespace per area: `src/locales/common/*.json` is `common`, and every
 * `src/node/<area>/locales/*.json` (later `src/hub/<area>/...`) is `<area>`, collected by glob so
 * an area brings its own strings without editing this file.
 */
import i18next, { type Resource } from "i18next";
import { initReactI18next } from "react-i18next";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "yunfab-console:language";

type Strings = Record<string, unknown>;

const common = import.meta.glob<Strings>("./locales/common/*.json", {
  eager: true,
  import: "default",
});
const areas = import.meta.glob<Strings>(["./node/*/locales/*.json", "./hub/*/locales/*.json"], {
  eager: true,
  import: "default",
});

/** `{ en: { common: {...}, overview: {...} }, "zh-CN": {...} }` from the globbed paths. */
export function collectResources(
  commonFiles: Record<string, Strings>,
  areaFiles: Record<string, Strings>,
): Resource {
  const resources: Resource = {};
  const put = (language: string, namespace: string, strings: Strings) => {
    resources[language] ??= {};
    (resources[language] as Record<string, Strings>)[namespace] = strings;
  };
  for (const [path, strings] of Object.entries(commonFiles)) {
    const language = /\/([^/]+)\.json$/.exec(path)?.[1];
    if (language) put(language, "common", strings);
  }
  for (const [path, strings] of Object.entries(areaFiles)) {
    const match = /\/(?:node|hub)\/([^/]+)\/locales\/([^/]+)\.json$/.exec(path);
    if (match?.[1] && match[2]) put(match[2], match[1], strings);
  }
  return resources;
}

/** What the person chose, else English for an English browser and zh-CN for any other. */
export function initialLanguage(
  stored: string | null,
  browser: readonly string[] = navigator.languages ?? [navigator.language],
): Language {
  if (stored === "zh-CN" || stored === "en") {
    return stored;
  }
  return browser[0]?.toLowerCase().startsWith("en") ? "en" : "zh-CN";
}

export async function initI18n(): Promise<typeof i18next> {
  const resources = collectResources(common, areas);
  await i18next.use(initReactI18next).init({
    resources,
    lng: initialLanguage(localStorage.getItem(STORAGE_KEY)),
    fallbackLng: "en",
    supportedLngs: [...LANGUAGES],
    ns: Object.keys(resources.en ?? {}),
    defaultNS: "common",
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = i18next.language;
  return i18next;
}

export async function changeLanguage(language: Language): Promise<void> {
  localStorage.setItem(STORAGE_KEY, language);
  await i18next.changeLanguage(language);
  document.documentElement.lang = language;
}
