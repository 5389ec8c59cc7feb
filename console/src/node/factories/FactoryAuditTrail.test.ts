import { describe, expect, it } from "vitest";
import { detailText } from "./FactoryAuditTrail";

describe("detailText", () => {
  it("reads an entry's detail as key: value pairs, leaving out the empty ones", () => {
    expect(detailText({ from: "submitted", to: "verified", reason: null })).toBe(
      "from: submitted · to: verified",
    );
    expect(detailText({ changed: ["location", "contact"], entries: 3 })).toBe(
      "changed: location, contact · entries: 3",
    );
  });

  it("shows anything else as JSON, and nothing for no detail", () => {
    expect(detailText(["a"])).toBe('["a"]');
    expect(detailText(7)).toBe("7");
    expect(detailText(null)).toBe("");
    expect(detailText({})).toBe("");
  });
});
