import { describe, expect, it } from "vitest";
import { toCreateInput, toUpdateInput, validateContact } from "./contactPoints";
import {
  DEFAULT_STATUS,
  inboxSearch,
  matchesFilters,
  parseInboxFilters,
  toAlertFilter,
} from "./filters";
import { type DeviceTypeChoice, type RuleDraft, toRuleInput, validateRule } from "./ruleValidation";

const FACTORY = "0b7d8f3e-5f4e-4c1a-9e53-2a0c4a1b2c3d";

describe("inbox filters in the address", () => {
  it("defaults to alerts not closed and keeps a plain address plain", () => {
    const filters = parseInboxFilters(new URLSearchParams(""));
    expect(filters.status).toEqual(DEFAULT_STATUS);
    expect(inboxSearch(filters).toString()).toBe("");
  });

  it("round-trips every filter and drops what it does not know", () => {
    const params = new URLSearchParams(
      `status=closed,BOGUS&severity=CRITICAL,INFO&factory=${FACTORY.toUpperCase()}&rule=nope&since=2026-12-01T00:00:00Z`,
    );
    const filters = parseInboxFilters(params);
    expect(filters).toEqual({
      status: ["CLOSED"],
      severity: ["CRITICAL", "INFO"],
      factory: FACTORY,
      rule: null,
      since: "2026-12-01T00:00:00.000Z",
      until: null,
    });
    expect(parseInboxFilters(inboxSearch(filters))).toEqual(filters);
    expect(toAlertFilter(filters)).toMatchObject({
      status: ["CLOSED"],
      factoryId: FACTORY,
      ruleId: null,
    });
  });

  it("status=all asks for every status", () => {
    const filters = parseInboxFilters(new URLSearchParams("status=all"));
    expect(filters.status).toEqual([]);
    expect(toAlertFilter(filters).status).toBeNull();
    expect(inboxSearch(filters).get("status")).toBe("all");
  });

  it("tells whether a changed alert belongs in the list", () => {
    const filters = parseInboxFilters(new URLSearchParams(`factory=${FACTORY}&severity=CRITICAL`));
    const alert = {
      status: "OPEN",
      severity: "CRITICAL",
      factoryId: FACTORY,
      ruleId: "r",
      openedAt: "2026-12-06T08:00:00Z",
    };
    expect(matchesFilters(alert, filters)).toBe(true);
    expect(matchesFilters({ ...alert, status: "CLOSED" }, filters)).toBe(false);
    expect(matchesFilters({ ...alert, severity: "INFO" }, filters)).toBe(false);
  });
});

const TYPES: DeviceTypeChoice[] = [
  {
    type: "injection_moulding",
    metrics: [
      { name: "barrel_temp_c", unit: "°C" },
      { name: "cycle_time_s", unit: "s" },
    ],
  },
];

const GOOD: RuleDraft = {
  name: "Barrel too hot",
  kind: "THRESHOLD",
  severity: "WARNING",
  deviceType: "injection_moulding",
  metric: "barrel_temp_c",
  above: 240,
  forS: 30,
  clearForS: 0,
};

function fields(draft: RuleDraft) {
  return validateRule(draft, TYPES).map((problem) => `${problem.field}:${problem.key}`);
}

describe("rule validation mirrors createAlertRule", () => {
  it("accepts a valid threshold rule and sends only its kind's fields", () => {
    expect(fields(GOOD)).toEqual([]);
    const input = toRuleInput({ ...GOOD, ratePerMin: 3, factoryId: "" });
    expect(input).toMatchObject({
      name: "Barrel too hot",
      above: 240,
      below: null,
      ratePerMin: null,
      factoryId: null,
      forS: 30,
    });
  });

  it("checks the metric against the device type's declared metrics", () => {
    expect(fields({ ...GOOD, metric: "spindle_rpm" })).toEqual(["metric:metricUndeclared"]);
    expect(fields({ ...GOOD, metric: "Barrel" })).toEqual(["metric:metricPattern"]);
    expect(fields({ ...GOOD, deviceType: "lathe" })).toEqual(["deviceType:deviceTypeUnknown"]);
    expect(fields({ ...GOOD, deviceType: null })).toEqual(["deviceType:deviceTypeRequired"]);
  });

  it("needs the kind's own level", () => {
    expect(fields({ ...GOOD, above: null })).toEqual(["above:thresholdNeeded"]);
    expect(fields({ ...GOOD, below: 300 })).toEqual(["below:belowUnderAbove"]);
    expect(fields({ ...GOOD, kind: "RATE_OF_CHANGE", ratePerMin: 0 })).toContain(
      "ratePerMin:ratePositive",
    );
    expect(fields({ ...GOOD, kind: "STALE", staleAfterS: null })).toContain(
      "staleAfterS:stalePositive",
    );
  });

  it("keeps hysteresis and escalation on the right side of the threshold", () => {
    expect(fields({ ...GOOD, clearAbove: 235 })).toEqual([]);
    expect(fields({ ...GOOD, clearAbove: 245 })).toEqual(["clearAbove:clearAbove"]);
    expect(fields({ ...GOOD, clearBelow: 10 })).toEqual(["clearBelow:clearBelow"]);
    expect(fields({ ...GOOD, escalateAbove: 240 })).toEqual(["escalateAbove:escalateAbove"]);
    expect(fields({ ...GOOD, escalateAbove: 260 })).toEqual([]);
    expect(fields({ ...GOOD, escalateTo: "CRITICAL" })).toEqual(["escalateTo:escalateToAlone"]);
    expect(fields({ ...GOOD, severity: "CRITICAL", escalateAfterS: 600 })).toEqual([
      "escalateTo:escalateToHigher",
    ]);
    expect(fields({ ...GOOD, escalateAfterS: 0 })).toEqual(["escalateAfterS:escalateAfterRange"]);
  });

  it("bounds the hold times and the name", () => {
    expect(fields({ ...GOOD, forS: 86_401 })).toEqual(["forS:holdRange"]);
    expect(fields({ ...GOOD, clearForS: 1.5 })).toEqual(["clearForS:holdRange"]);
    expect(fields({ ...GOOD, name: "  " })).toEqual(["name:name"]);
  });
});

describe("contact points", () => {
  it("needs a URL for a robot and addresses for email", () => {
    expect(validateContact({ kind: "DINGTALK", name: "Line 1" }, true).map((p) => p.key)).toEqual([
      "urlRequired",
    ]);
    expect(validateContact({ kind: "DINGTALK", name: "Line 1" }, false)).toEqual([]);
    expect(
      validateContact({ kind: "EMAIL", name: "Ops", recipients: ["a@b.cn", "nope"] }, true).map(
        (p) => p.key,
      ),
    ).toEqual(["email"]);
    expect(
      validateContact(
        { kind: "WEBHOOK", name: "x", url: "https://h.example/a", secret: "short" },
        true,
      ).map((p) => p.key),
    ).toEqual(["secret"]);
  });

  it("sends only what the kind takes", () => {
    expect(
      toCreateInput(
        { kind: "EMAIL", name: " Ops ", url: "https://x", recipients: ["a@b.cn"] },
        null,
      ),
    ).toMatchObject({
      name: "Ops",
      url: null,
      recipients: ["a@b.cn"],
      secret: null,
    });
    expect(
      toUpdateInput({ kind: "WEBHOOK", name: "Hook", url: "", rotateSecret: true }),
    ).toMatchObject({
      url: null,
      rotateSecret: true,
      recipients: null,
    });
  });
});
