import { describe, expect, it } from "vitest";
import { silenceInput } from "./AlertActions";

describe("silence input", () => {
  const now = Date.parse("2026-12-06T08:00:00Z");
  it("a while from now", () => {
    expect(silenceInput("r", { mode: "for", hours: 4, comment: " maintenance " }, now)).toEqual({
      ruleId: "r",
      startsAt: "2026-12-06T08:00:00.000Z",
      endsAt: "2026-12-06T12:00:00.000Z",
      comment: "maintenance",
    });
  });
  it("every day", () => {
    expect(silenceInput("r", { mode: "daily", dailyFrom: "22:00", dailyTo: "06:00" }, now)).toEqual(
      {
        ruleId: "r",
        dailyFrom: "22:00",
        dailyTo: "06:00",
        comment: null,
      },
    );
  });
});
