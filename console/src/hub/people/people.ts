/** The people pages' filters as they travel in the address, and the API's arguments. */

export const ORGANIZATION_KINDS = [
  "HUB_OPERATOR",
  "NODE_OPERATOR",
  "PUBLISHER",
  "FACTORY",
  "CONSUMER",
] as const;
export type OrganizationKindName = (typeof ORGANIZATION_KINDS)[number];

export const ROLES = [
  "ADMIN",
  "AUDITOR",
  "OPERATOR",
  "NODE_OPERATOR",
  "FACTORY_STAFF",
  "BUYER",
  "DATA_CONSUMER",
  "PUBLISHER",
  "REVIEWER",
] as const;
export type RoleName = (typeof ROLES)[number];

export const CLIENT_KINDS = ["PLATFORM", "GATEWAY", "APP", "NODE"] as const;
export type ClientKindName = (typeof CLIENT_KINDS)[number];

export const STATUSES = ["active", "disabled"] as const;
export type Status = (typeof STATUSES)[number];

/** A trimmed text parameter, or null. */
export function textParam(params: URLSearchParams, name: string, max = 100): string | null {
  const value = params.get(name)?.trim();
  return value ? value.slice(0, max) : null;
}

/** A parameter that must be one of `allowed` (anything else is ignored, as if absent). */
export function oneOf<T extends string>(
  params: URLSearchParams,
  name: string,
  allowed: readonly T[],
): T | null {
  const value = params.get(name);
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

/** The address with `changes` applied: null or "" removes a parameter. */
export function withParams(
  params: URLSearchParams,
  changes: Record<string, string | null | undefined>,
): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(name);
    else next.set(name, value);
  }
  return next;
}

/** `disabled` of the API's filters from the status filter. */
export function disabledFilter(status: Status | null): boolean | null {
  return status === null ? null : status === "disabled";
}

/** A redirect URI the hub accepts: https, or http on a loopback host; no fragment. */
export function redirectUriProblem(uri: string): "scheme" | "fragment" | null {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return "scheme";
  }
  const loopback =
    parsed.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (!(parsed.protocol === "https:" && parsed.hostname) && !loopback) return "scheme";
  if (parsed.hash) return "fragment";
  return null;
}

/** Lines of a text area, trimmed, without empty ones. */
export function lines(text: string | undefined): string[] {
  return (text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** An ISO time parameter, or null when absent or not a time. */
export function timeParam(params: URLSearchParams, name: string): string | null {
  const value = params.get(name);
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** `2026-12-06T08:00:00.000Z` -> the `datetime-local` input's value in the browser's zone. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}
