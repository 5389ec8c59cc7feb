import { describe, expect, it } from "vitest";
import {
  emptyProduct,
  feedSubscription,
  type ProductForm,
  type ProductRead,
  problemsAt,
  productChanges,
  productForm,
  productInput,
  rulesUpdate,
  stockChanges,
} from "./editing";

const SKUS = [
  { id: "s1", code: "BELL-BLK", stockOnHand: 10 },
  { id: "s2", code: "BELL-RED", stockOnHand: 0 },
  { id: "s3", code: "BELL-CHR", stockOnHand: 5 },
];

describe("stock on hand", () => {
  it("sends only the SKUs whose figure changed", () => {
    expect(stockChanges(SKUS, { s1: 12, s2: 0 })).toEqual({
      stock: [{ skuId: "s1", onHand: 12 }],
      problems: [],
    });
  });

  it("refuses a blank or negative figure, naming the SKU, and sends nothing unchanged", () => {
    const { problems } = stockChanges(SKUS, { s1: null, s3: -1 });
    expect(problems).toEqual([
      { path: "s1", key: "stockMissing", values: { sku: "BELL-BLK" } },
      { path: "s3", key: "stockRange", values: { sku: "BELL-CHR" } },
    ]);
    expect(stockChanges(SKUS, { s1: 10 }).problems).toEqual([{ path: "", key: "nothingChanged" }]);
  });
});

describe("planning rules", () => {
  const current = {
    serviceLevel: 0.9,
    frozenWeeks: 2,
    minLot: 50,
    lotMultiple: 10,
    autoAcceptUpTo: null,
  };

  it("splits what changed into the product's figures and the operator's auto-accept rule", () => {
    expect(rulesUpdate(current, { ...current, frozenWeeks: 3, autoAcceptUpTo: 200 })).toEqual({
      update: { frozenWeeks: 3 },
      autoAccept: { upTo: 200 },
      problems: [],
    });
    expect(rulesUpdate({ ...current, autoAcceptUpTo: 200 }, current)).toEqual({
      update: null,
      autoAccept: { upTo: null },
      problems: [],
    });
    expect(rulesUpdate(current, current).problems).toEqual([{ path: "", key: "nothingChanged" }]);
  });

  it("refuses figures the node would refuse, each at its field", () => {
    const { update, problems } = rulesUpdate(current, {
      serviceLevel: 0.85,
      frozenWeeks: 27,
      minLot: 0,
      lotMultiple: 2.5,
      autoAcceptUpTo: 0,
    });
    expect(update).toBeNull();
    expect(problems.map((p) => p.path)).toEqual([
      "serviceLevel",
      "frozenWeeks",
      "minLot",
      "lotMultiple",
      "autoAcceptUpTo",
    ]);
  });
});

function bell(): ProductForm {
  return {
    ...emptyProduct(),
    slug: "bell",
    name: " Bicycle bell ",
    baseProduct: "bell",
    bom: [{ item: "steel-cup", quantity: 1, unit: "" }],
    options: [
      {
        name: "colour",
        kind: "COLOUR",
        values: [
          { value: "black", routing: [], bom: [] },
          {
            value: "red",
            routing: [
              {
                op: "ADD",
                step: "paint",
                process: "painting",
                after: "mould, trim",
                hoursPerUnit: 0.01,
              },
            ],
            bom: [{ item: "red-paint", quantity: 0.02, unit: "kg" }],
          },
        ],
      },
      {
        name: "finish",
        kind: "MATERIAL",
        values: [
          { value: "plain", routing: [], bom: [] },
          {
            value: "chrome",
            routing: [
              { op: "REMOVE", step: "paint", process: "ignored" },
              { op: "CHANGE", step: "mould", lagDays: 2 },
            ],
            bom: [{ item: "steel-cup", quantity: 0, unit: "pcs" }],
          },
        ],
      },
    ],
  };
}

describe("configurable products", () => {
  it("shapes a product with options, routing changes and BOM lines as the API takes it", () => {
    const { input, problems } = productInput(bell());
    expect(problems).toEqual([]);
    expect(input?.name).toBe("Bicycle bell");
    expect(input?.bom).toEqual([{ item: "steel-cup", quantity: 1, unit: "pcs" }]);
    expect(input?.options[0]?.values[1]?.routing).toEqual([
      {
        op: "ADD",
        step: "paint",
        set: { process: "painting", after: ["mould", "trim"], hoursPerUnit: 0.01 },
      },
    ]);
    expect(input?.options[1]?.values[1]?.routing).toEqual([
      { op: "REMOVE", step: "paint" },
      { op: "CHANGE", step: "mould", set: { lagDays: 2 } },
    ]);
    // A value's line of 0 takes the base's line out.
    expect(input?.options[1]?.values[1]?.bom).toEqual([
      { item: "steel-cup", quantity: 0, unit: "pcs" },
    ]);
    expect(input && "slug" in productChanges(input)).toBe(false);
  });

  it("names every problem at its field before anything is sent", () => {
    const form = bell();
    form.slug = "Bell!";
    const [colour, finish] = form.options;
    const red = colour?.values[1];
    if (!finish || !red) throw new Error("bell has two options, colour with two values");
    form.options[1] = { ...finish, name: "colour", values: [] };
    red.value = "black";
    red.routing = [
      { op: "ADD", step: "paint" },
      { op: "CHANGE", step: "mould" },
      { op: "CHANGE", step: "trim", yield: 1.5 },
    ];
    red.bom = [{ item: "", quantity: -1, unit: "kg" }];
    const { input, problems } = productInput(form);
    expect(input).toBeNull();
    expect(problems.map((p) => `${p.path}:${p.key}`)).toEqual([
      "slug:slug",
      "options.0.values.1.value:twice",
      "options.0.values.1.routing.0.process:addProcess",
      "options.0.values.1.routing.1.set:changeNothing",
      "options.0.values.1.routing.2.yield:yield",
      "options.0.values.1.bom.0.item:item",
      "options.0.values.1.bom.0.quantity:quantity",
      "options.1.name:twice",
      "options.1.values:values",
    ]);
    expect(problemsAt(problems, "options.0.values.1.routing").length).toBe(3);
  });

  it("reads a product back into the form it was made from", () => {
    const { input } = productInput(bell());
    if (!input) throw new Error("bell does not shape");
    const read: ProductRead = {
      ...input,
      options: input.options.map((option) => ({
        ...option,
        values: option.values.map((value) => ({
          ...value,
          routing: value.routing.map((change) => ({
            op: change.op,
            step: change.step,
            set: change.set ?? null,
          })),
        })),
      })),
    };
    const again = productInput(productForm(read));
    expect(again.problems).toEqual([]);
    expect(again.input).toEqual(input);
  });
});

describe("sales feeds", () => {
  it("takes an agreement's id and an optional period", () => {
    expect(feedSubscription(" 0B9E5A3C-1D2E-4F60-8A9B-0C1D2E3F4A5B ", null)).toEqual({
      input: { contractId: "0b9e5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b", everyMinutes: null },
      problems: [],
    });
    expect(feedSubscription("0b9e5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b", 60).input?.everyMinutes).toBe(
      60,
    );
  });

  it("refuses what is not an id, and a period outside 5 minutes to a week", () => {
    const { input, problems } = feedSubscription("contract-1", 2);
    expect(input).toBeNull();
    expect(problems.map((p) => p.key)).toEqual(["contractId", "everyMinutes"]);
  });
});
