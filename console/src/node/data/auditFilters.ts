/** The audit page's filters as they travel in the address, and the `auditLog` arguments. */

export type TargetKind = "factory" | "order" | "device";
export const TARGET_KINDS: TargetKind[] = ["factory", "order", "device"];

export interface AuditFilters {
  /** One target at most, by the name people see: a factory's slug, an order's number, a device's key. */
  target: { kind: TargetKind; value: string } | null;
  action: string | null;
  actor: string | null;
  since: string | null;
  until: string | null;
}

function text(value: string | null): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function time(value: string | null): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function parseAuditFilters(params: URLSearchParams): AuditFilters {
  let target: AuditFilters["target"] = null;
  for (const kind of TARGET_KINDS) {
    const value = text(params.get(kind));
    if (value) {
      target = { kind, value };
      break;
    }
  }
  return {
    target,
    action: text(params.get("action")),
    actor: text(params.get("actor")),
    since: time(params.get("since")),
    until: time(params.get("until")),
  };
}

export function auditSearch(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.target?.value.trim()) params.set(filters.target.kind, filters.target.value.trim());
  if (filters.action) params.set("action", filters.action);
  if (filters.actor) params.set("actor", filters.actor);
  if (filters.since) params.set("since", filters.since);
  if (filters.until) params.set("until", filters.until);
  return params;
}

export interface AuditVariables {
  factorySlug: string | null;
  orderNumber: string | null;
  deviceKey: string | null;
  action: string | null;
  actor: string | null;
  since: string | null;
  until: string | null;
}

export function toAuditVariables(filters: AuditFilters): AuditVariables {
  const target = filters.target;
  return {
    factorySlug: target?.kind === "factory" ? target.value : null,
    orderNumber: target?.kind === "order" ? target.value : null,
    deviceKey: target?.kind === "device" ? target.value : null,
    action: filters.action,
    actor: filters.actor,
    since: filters.since,
    until: filters.until,
  };
}

/** "until" before "since" is refused by the API (INVALID_INPUT); say so before asking. */
export function rangeProblem(filters: AuditFilters): boolean {
  return (
    !!filters.since &&
    !!filters.until &&
    new Date(filters.until).getTime() <= new Date(filters.since).getTime()
  );
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
