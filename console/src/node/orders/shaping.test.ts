import { describe, expect, it } from "vitest";
import {
  allocationSteps,
  beforeAfterChart,
  factoryDayChart,
  orderLookup,
  placeOrderInput,
  STAGES,
  stageSteps,
  validatePlaceOrder,
} from "./shaping";

const A = { factoryId: "a", factory: { name: "Alpha" } };
const B = { factoryId: "b", factory: { name: "Beta" } };

describe("orderLookup", () => {
  it("takes an id or a number", () => {
    expect(orderLookup("3f2b8c1e-1d2a-4e5f-9a0b-123456789abc")).toEqual({
      id: "3f2b8c1e-1d2a-4e5f-9a0b-123456789abc",
      number: null,
    });
    expect(orderLookup(" SO-20261206-ABC123 ")).toEqual({ id: null, number: "SO-20261206-ABC123" });
  });
});

describe("stageSteps", () => {
  it("marks reached stages done and the order's stage current", () => {
    const { current, steps } = stageSteps("PLANNED", [
      { stage: "PLACED", reached: true, at: "2026-12-01T08:00:00Z" },
      { stage: "ACCEPTED", reached: true, at: "2026-12-01T09:00:00Z" },
      { stage: "PLANNED", reached: true, at: "2026-12-01T09:00:00Z" },
      { stage: "DISPATCHED", reached: false, at: null },
    ]);
    expect(current).toBe(2);
    expect(steps).toHaveLength(12);
    expect(steps.map((s) => s.status).slice(0, 4)).toEqual(["finish", "finish", "process", "wait"]);
    expect(steps[0]?.at).toBe("2026-12-01T08:00:00Z");
    expect(steps[3]?.at).toBeNull();
  });

  it("ends with every stage done once delivered", () => {
    const { current, steps } = stageSteps("DELIVERED", []);
    expect(current).toBe(STAGES.length - 1);
    expect(steps.every((s) => s.status === "finish")).toBe(true);
  });
});

describe("factoryDayChart", () => {
  const allocations = [
    { ...A, step: "mould", day: "2026-12-02", units: 10 },
    { ...A, step: "mould", day: "2026-12-01", units: 5 },
    { ...B, step: "mould", day: "2026-12-01", units: 30 },
    { ...B, step: "pack", day: "2026-12-03", units: 7.333 },
    { ...A, step: "mould", day: "2026-12-02", units: 2 },
  ];

  it("stacks each factory's units by day, the biggest factory first", () => {
    const chart = factoryDayChart(allocations);
    expect(chart.days).toEqual(["2026-12-01", "2026-12-02", "2026-12-03"]);
    expect(chart.series).toEqual([
      { name: "Beta", data: [30, 0, 7.33] },
      { name: "Alpha", data: [5, 12, 0] },
    ]);
    expect(chart.total).toBe(54.33);
  });

  it("keeps one step", () => {
    const chart = factoryDayChart(allocations, "pack");
    expect(chart.days).toEqual(["2026-12-03"]);
    expect(chart.series).toEqual([{ name: "Beta", data: [7.33] }]);
  });

  it("is empty without allocations", () => {
    expect(factoryDayChart([])).toEqual({ days: [], series: [], total: 0 });
  });

  it("lists the steps in order", () => {
    expect(allocationSteps(allocations)).toEqual(["mould", "pack"]);
  });
});

describe("beforeAfterChart", () => {
  it("puts both plans on the union of their days", () => {
    expect(
      beforeAfterChart(
        [
          { day: "2026-12-02", units: 10 },
          { day: "2026-12-01", units: 5 },
        ],
        [
          { day: "2026-12-03", units: 8 },
          { day: "2026-12-01", units: 5 },
          { day: null, units: 3 },
        ],
      ),
    ).toEqual({
      days: ["2026-12-01", "2026-12-02", "2026-12-03"],
      before: [5, 10, 0],
      after: [5, 0, 8],
    });
  });
});

describe("validatePlaceOrder", () => {
  const good = {
    product: "bike-licence-plate",
    quantity: 1000,
    dailyTarget: 100,
    dueDate: "2026-12-20",
    rampDays: 2,
  };

  it("accepts a good order", () => {
    expect(validatePlaceOrder(good, "2026-12-06")).toEqual({});
  });

  it("names each problem", () => {
    expect(
      validatePlaceOrder(
        { product: "", quantity: 0, dailyTarget: 1.5, dueDate: "", rampDays: -1 },
        "2026-12-06",
      ),
    ).toEqual({
      product: "form.errors.product",
      quantity: "form.errors.quantity",
      dailyTarget: "form.errors.dailyTarget",
      dueDate: "form.errors.dueRequired",
      rampDays: "form.errors.rampDays",
    });
  });

  it("checks the dates against the start (today when none)", () => {
    expect(validatePlaceOrder({ ...good, dueDate: "2026-12-05" }, "2026-12-06").dueDate).toBe(
      "form.errors.dueBeforeStart",
    );
    expect(
      validatePlaceOrder({ ...good, startDate: "2026-12-10", dueDate: "2026-12-08" }, "2026-12-06")
        .dueDate,
    ).toBe("form.errors.dueBeforeStart");
    expect(validatePlaceOrder({ ...good, dueDate: "2028-01-01" }, "2026-12-06").dueDate).toBe(
      "form.errors.span",
    );
    expect(validatePlaceOrder({ ...good, rampDays: 30 }, "2026-12-06").rampDays).toBe(
      "form.errors.rampDays",
    );
    expect(validatePlaceOrder({ ...good, quantity: 10_000_001 }, "2026-12-06").quantity).toBe(
      "form.errors.quantity",
    );
  });
});

describe("placeOrderInput", () => {
  it("leaves blank optional fields out", () => {
    expect(
      placeOrderInput({
        product: "p",
        quantity: 5,
        dailyTarget: 1,
        dueDate: "2026-12-20",
        startDate: "",
        buyerReference: "  PO-7 ",
        note: " ",
      }),
    ).toEqual({
      product: "p",
      quantity: 5,
      dailyTarget: 1,
      dueDate: "2026-12-20",
      startDate: null,
      rampDays: 0,
      buyerReference: "PO-7",
      note: null,
    });
  });
});
