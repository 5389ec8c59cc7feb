/** Dates and numbers through `Intl`, in the console's active language. */
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

export type DateInput = string | number | Date | null | undefined;

function toDate(value: DateInput): Date | null {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: DateInput, locale: string, fallback = "—"): string {
  const date = toDate(value);
  return date
    ? new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(date)
    : fallback;
}

export function formatDate(value: DateInput, locale: string, fallback = "—"): string {
  const date = toDate(value);
  return date ? new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(date) : fallback;
}

export function formatNumber(
  value: number | null | undefined,
  locale: string,
  options?: Intl.NumberFormatOptions,
  fallback = "—",
): string {
  return value === null || value === undefined || Number.isNaN(value)
    ? fallback
    : new Intl.NumberFormat(locale, options).format(value);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago" / "3分钟前", "in 2 hours" for a future time. */
export function formatRelative(
  value: DateInput,
  locale: string,
  now: number = Date.now(),
  fallback = "—",
): string {
  const date = toDate(value);
  if (!date) return fallback;
  const seconds = Math.round((date.getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return format.format(Math.round(seconds / size), unit);
    }
  }
  return fallback;
}

/** The helpers bound to the active language. */
export function useFormat() {
  const { i18n } = useTranslation();
  const locale = i18n.language;
  return useMemo(
    () => ({
      locale,
      dateTime: (value: DateInput) => formatDateTime(value, locale),
      date: (value: DateInput) => formatDate(value, locale),
      number: (value: number | null | undefined, options?: Intl.NumberFormatOptions) =>
        formatNumber(value, locale, options),
      relative: (value: DateInput) => formatRelative(value, locale),
    }),
    [locale],
  );
}
