/**
 * The checks `createAlertRule` makes, made before sending so the form can point at the field.
 * The API stays the authority: what it still refuses (INVALID_INPUT) is shown with its reason.
 * Bounds as in regional_node/alerts/service.py.
 */
import type { AlertRuleInput, AlertRuleKind, AlertSeverity } from "../../gql/node/graphql";

export const MAX_HOLD_S = 86_400;
export const MAX_ESCALATE_AFTER_S = 7 * 86_400;
export const MAX_RULE_CONTACT_POINTS = 10;
export const METRIC = /^[a-z0-9_]+$/;

const SEVERITY_ORDER: Record<AlertSeverity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

export const RULE_KINDS: AlertRuleKind[] = ["THRESHOLD", "RATE_OF_CHANGE", "STALE"];

/** What the form holds; an empty number field is null or undefined. */
export interface RuleDraft {
  name?: string | null;
  kind?: AlertRuleKind | null;
  severity?: AlertSeverity | null;
  factoryId?: string | null;
  deviceType?: string | null;
  metric?: string | null;
  above?: number | null;
  below?: number | null;
  ratePerMin?: number | null;
  staleAfterS?: number | null;
  forS?: number | null;
  clearAbove?: number | null;
  clearBelow?: number | null;
  clearForS?: number | null;
  escalateAbove?: number | null;
  escalateBelow?: number | null;
  escalateAfterS?: number | null;
  escalateTo?: AlertSeverity | null;
  contactPointIds?: string[] | null;
}

export interface DeviceTypeChoice {
  type: string;
  metrics: { name: string; unit: string }[];
}

/** A problem with one field: an i18n key of the "validation" group and its values. */
export interface RuleProblem {
  field: keyof RuleDraft;
  key: string;
  values?: Record<string, string | number>;
}

function given(value: number | null | undefined): value is number {
  return value !== null && value !== undefined && !Number.isNaN(value);
}

export function validateRule(draft: RuleDraft, deviceTypes: DeviceTypeChoice[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const add = (field: keyof RuleDraft, key: string, values?: RuleProblem["values"]) => {
    if (!problems.some((problem) => problem.field === field)) problems.push({ field, key, values });
  };
  const name = (draft.name ?? "").trim();
  if (name.length < 1 || name.length > 200) add("name", "name");
  const kind = draft.kind ?? "THRESHOLD";
  const severity = draft.severity ?? "WARNING";
  if (!draft.deviceType) {
    add("deviceType", "deviceTypeRequired");
  } else {
    const type = deviceTypes.find((choice) => choice.type === draft.deviceType);
    if (!type) add("deviceType", "deviceTypeUnknown", { type: draft.deviceType });
    if (!draft.metric) add("metric", "metricRequired");
    else if (!METRIC.test(draft.metric)) add("metric", "metricPattern");
    else if (type && !type.metrics.some((metric) => metric.name === draft.metric))
      add("metric", "metricUndeclared", { metric: draft.metric, type: type.type });
  }
  const threshold = kind === "THRESHOLD";
  if (threshold) {
    if (!given(draft.above) && !given(draft.below)) add("above", "thresholdNeeded");
    if (given(draft.above) && given(draft.below) && draft.below >= draft.above)
      add("below", "belowUnderAbove");
  }
  if (kind === "RATE_OF_CHANGE" && !(given(draft.ratePerMin) && draft.ratePerMin > 0))
    add("ratePerMin", "ratePositive");
  if (kind === "STALE" && !(given(draft.staleAfterS) && draft.staleAfterS > 0))
    add("staleAfterS", "stalePositive");
  for (const field of ["forS", "clearForS"] as const) {
    const value = draft[field] ?? 0;
    if (!Number.isInteger(value) || value < 0 || value > MAX_HOLD_S)
      add(field, "holdRange", { max: MAX_HOLD_S });
  }
  if (
    given(draft.clearAbove) &&
    !(threshold && given(draft.above) && draft.clearAbove <= draft.above)
  )
    add("clearAbove", "clearAbove");
  if (
    given(draft.clearBelow) &&
    !(threshold && given(draft.below) && draft.clearBelow >= draft.below)
  )
    add("clearBelow", "clearBelow");
  if (
    given(draft.escalateAbove) &&
    !(threshold && given(draft.above) && draft.escalateAbove > draft.above)
  )
    add("escalateAbove", "escalateAbove");
  if (
    given(draft.escalateBelow) &&
    !(threshold && given(draft.below) && draft.escalateBelow < draft.below)
  )
    add("escalateBelow", "escalateBelow");
  if (
    given(draft.escalateAfterS) &&
    (!Number.isInteger(draft.escalateAfterS) ||
      draft.escalateAfterS < 1 ||
      draft.escalateAfterS > MAX_ESCALATE_AFTER_S)
  )
    add("escalateAfterS", "escalateAfterRange", { max: MAX_ESCALATE_AFTER_S });
  const escalates =
    given(draft.escalateAbove) || given(draft.escalateBelow) || given(draft.escalateAfterS);
  if (draft.escalateTo && !escalates) add("escalateTo", "escalateToAlone");
  if (escalates && SEVERITY_ORDER[draft.escalateTo ?? "CRITICAL"] <= SEVERITY_ORDER[severity])
    add("escalateTo", "escalateToHigher");
  if ((draft.contactPointIds?.length ?? 0) > MAX_RULE_CONTACT_POINTS)
    add("contactPointIds", "contactPointsMax", { max: MAX_RULE_CONTACT_POINTS });
  return problems;
}

function number(value: number | null | undefined): number | null {
  return given(value) ? value : null;
}

/** The API's input for a valid draft; a kind's own fields only, as the node keeps them. */
export function toRuleInput(draft: RuleDraft): AlertRuleInput {
  const kind = draft.kind ?? "THRESHOLD";
  const threshold = kind === "THRESHOLD";
  return {
    name: (draft.name ?? "").trim(),
    kind,
    severity: draft.severity ?? "WARNING",
    metric: draft.metric ?? "",
    deviceType: draft.deviceType ?? null,
    factoryId: draft.factoryId || null,
    above: threshold ? number(draft.above) : null,
    below: threshold ? number(draft.below) : null,
    ratePerMin: kind === "RATE_OF_CHANGE" ? number(draft.ratePerMin) : null,
    staleAfterS: kind === "STALE" ? number(draft.staleAfterS) : null,
    forS: number(draft.forS) ?? 0,
    clearAbove: threshold ? number(draft.clearAbove) : null,
    clearBelow: threshold ? number(draft.clearBelow) : null,
    clearForS: number(draft.clearForS) ?? 0,
    escalateAbove: threshold ? number(draft.escalateAbove) : null,
    escalateBelow: threshold ? number(draft.escalateBelow) : null,
    escalateAfterS: number(draft.escalateAfterS),
    escalateTo: draft.escalateTo ?? null,
    contactPointIds: draft.contactPointIds?.length ? draft.contactPointIds : null,
  };
}
