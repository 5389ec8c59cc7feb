/** The inbox's filters as they travel in the address (`?status=OPEN,ACKNOWLEDGED&severity=...`). */
import type { AlertFilter, AlertSeverity, AlertStatus } from "../../gql/node/graphql";

export const STATUSES: AlertStatus[] = ["OPEN", "ACKNOWLEDGED", "CLOSED"];
export const SEVERITIES: AlertSeverity[] = ["CRITICAL", "WARNING", "INFO"];

export interface InboxFilters {
  status: AlertStatus[];
  severity: AlertSeverity[];
  factory: string | null;
  rule: string | null;
  since: string | null;
  until: string | null;
}

/** Not closed: what an inbox shows when the address names no status. */
export const DEFAULT_STATUS: AlertStatus[] = ["OPEN", "ACKNOWLEDGED"];

function list<T extends string>(value: string | null, allowed: readonly T[]): T[] {
  if (!value) return [];
  const wanted = value.split(",").map((part) => part.trim().toUpperCase());
  return allowed.filter((item) => wanted.includes(item));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function id(value: string | null): string | null {
  return value && UUID.test(value) ? value.toLowerCase() : null;
}

function time(value: string | null): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** What the address asks for; unknown values are dropped, `status=all` keeps every status. */
export function parseInboxFilters(params: URLSearchParams): InboxFilters {
  const rawStatus = params.get("status");
  return {
    status:
      rawStatus === null ? DEFAULT_STATUS : rawStatus === "all" ? [] : list(rawStatus, STATUSES),
    severity: list(params.get("severity"), SEVERITIES),
    factory: id(params.get("factory")),
    rule: id(params.get("rule")),
    since: time(params.get("since")),
    until: time(params.get("until")),
  };
}

/** The address for filters; the defaults are left out so a plain `/alerts` stays plain. */
export function inboxSearch(filters: InboxFilters): URLSearchParams {
  const params = new URLSearchParams();
  const sameAsDefault =
    filters.status.length === DEFAULT_STATUS.length &&
    DEFAULT_STATUS.every((status) => filters.status.includes(status));
  if (!sameAsDefault)
    params.set("status", filters.status.length ? filters.status.join(",") : "all");
  if (filters.severity.length) params.set("severity", filters.severity.join(","));
  if (filters.factory) params.set("factory", filters.factory);
  if (filters.rule) params.set("rule", filters.rule);
  if (filters.since) params.set("since", filters.since);
  if (filters.until) params.set("until", filters.until);
  return params;
}

/** The API's `AlertFilter` for the inbox's filters. */
export function toAlertFilter(filters: InboxFilters): AlertFilter {
  return {
    status: filters.status.length ? filters.status : null,
    severity: filters.severity.length ? filters.severity : null,
    factoryId: filters.factory,
    ruleId: filters.rule,
    since: filters.since,
    until: filters.until,
  };
}

/** Whether a changed alert (from `alertChanges`) belongs in the list the filters show. */
export function matchesFilters(
  alert: { status: string; severity: string; factoryId: string; ruleId: string; openedAt: string },
  filters: InboxFilters,
): boolean {
  if (filters.status.length && !(filters.status as string[]).includes(alert.status)) return false;
  if (filters.severity.length && !(filters.severity as string[]).includes(alert.severity))
    return false;
  if (filters.factory && alert.factoryId !== filters.factory) return false;
  if (filters.rule && alert.ruleId !== filters.rule) return false;
  const opened = new Date(alert.openedAt).getTime();
  if (filters.since && opened < new Date(filters.since).getTime()) return false;
  if (filters.until && opened >= new Date(filters.until).getTime()) return false;
  return true;
}
