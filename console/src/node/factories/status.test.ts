import { describe, expect, it } from "vitest";
import { availableTransitions } from "./status";

const operator = { manageFactories: true, editFactoryProfile: true };
const staff = { manageFactories: false, editFactoryProfile: true };

describe("availableTransitions", () => {
  it("offers what the status admits to who may review", () => {
    expect(availableTransitions("SUBMITTED", operator)).toEqual(["VERIFY", "REJECT"]);
    expect(availableTransitions("VERIFIED", operator)).toEqual(["ACTIVATE", "REJECT"]);
    expect(availableTransitions("ACTIVE", operator)).toEqual(["SUSPEND"]);
    expect(availableTransitions("SUSPENDED", operator)).toEqual(["REACTIVATE"]);
    expect(availableTransitions("INVITED", operator)).toEqual(["SUBMIT"]);
    expect(availableTransitions("REJECTED", operator)).toEqual(["SUBMIT"]);
  });

  it("lets a factory's people submit, and nothing else", () => {
    expect(availableTransitions("INVITED", staff)).toEqual(["SUBMIT"]);
    expect(availableTransitions("SUBMITTED", staff)).toEqual([]);
    expect(availableTransitions("ACTIVE", staff)).toEqual([]);
  });

  it("offers nothing while the capabilities are unknown", () => {
    expect(availableTransitions("SUBMITTED", {})).toEqual([]);
    expect(availableTransitions("INVITED", {})).toEqual([]);
  });
});
