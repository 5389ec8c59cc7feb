import { describe, expect, it } from "vitest";
import {
  bandChart,
  brandsOf,
  changedMoves,
  chosenBrand,
  judge,
  levelOf,
  lotsOf,
  movesChart,
  orderSeries,
  PARQUET_TYPE,
  selectable,
  uploadContentType,
  uploadOutcome,
  variantGroups,
} from "./shaping";

describe("brands", () => {
  it("lists each brand once, the viewer's own first", () => {
    const products = [{ brand: "b" }, { brand: "a" }, { brand: "b" }, { brand: "c" }];
    expect(brandsOf(products, "c")).toEqual(["c", "a", "b"]);
    expect(brandsOf(products, "z")).toEqual(["a", "b", "c"]);
    expect(brandsOf([], null)).toEqual([]);
  });

  it("asks about the brand in the address, else the first listed, else the API's default", () => {
    expect(chosenBrand("other", ["a"])).toBe("other");
    expect(chosenBrand(null, ["a", "b"])).toBe("a");
    expect(chosenBrand(null, [])).toBeNull();
  });
});

describe("uploads", () => {
  it("sends Parquet by its name and anything else as CSV", () => {
    expect(uploadContentType("sales.PARQUET")).toBe(PARQUET_TYPE);
    expect(uploadContentType("sales.csv")).toBe("text/csv");
    expect(uploadContentType("export.txt")).toBe("text/csv");
  });

  it("reads an import, its gaps in the stored names", () => {
    expect(
      uploadOutcome(201, {
        id: "i",
        rows: 120,
        firstDay: "2025-01-06",
        lastDay: "2026-12-28",
        warnings: [
          {
            sku: "MG-BLK",
            from: "2025-02-03",
            to: "2025-02-10",
            weeks: 2,
            message: "MG-BLK: no sales in 2 weeks",
          },
        ],
      }),
    ).toEqual({
      kind: "imported",
      rows: 120,
      firstDay: "2025-01-06",
      lastDay: "2026-12-28",
      warnings: [
        {
          sku: "MG-BLK",
          firstWeek: "2025-02-03",
          lastWeek: "2025-02-10",
          weeks: 2,
          message: "MG-BLK: no sales in 2 weeks",
        },
      ],
    });
  });

  it("lists a refusal's problems by row and column, the rest counted", () => {
    const outcome = uploadOutcome(422, {
      error: "sales_invalid",
      detail: "2 problems in 3 rows; first: ... (nothing was imported)",
      problems: [
        { row: 3, column: "sku", message: "unknown SKU 'NOPE' (not one of the brand's)" },
        { row: 4, column: null, message: "duplicates row 2 (same sku, date, channel, region)" },
        "not a problem",
      ],
      more_problems: 7,
    });
    expect(outcome).toEqual({
      kind: "refused",
      code: "sales_invalid",
      message: "2 problems in 3 rows; first: ... (nothing was imported)",
      problems: [
        { row: 3, column: "sku", message: "unknown SKU 'NOPE' (not one of the brand's)" },
        { row: 4, column: null, message: "duplicates row 2 (same sku, date, channel, region)" },
      ],
      moreProblems: 7,
    });
  });

  it("shows other refusals by their code, and a bare status by itself", () => {
    expect(uploadOutcome(403, { error: "forbidden", detail: "not your brand" })).toMatchObject({
      kind: "refused",
      code: "forbidden",
      message: "not your brand",
      problems: [],
    });
    expect(uploadOutcome(413, null)).toMatchObject({ code: "HTTP_413", message: "HTTP_413" });
    expect(
      uploadOutcome(422, { error: "invalid_input", detail: [{ loc: ["brand"] }] }),
    ).toMatchObject({ message: '[{"loc":["brand"]}]' });
  });
});

describe("bandChart", () => {
  it("draws the interval as its lower end and width, the actuals where they came in", () => {
    const chart = bandChart([
      { week: "2027-01-11", mean: 12, lo90: 8, hi90: 15, actual: null },
      { week: "2027-01-04", mean: 10.004, lo90: 6, hi90: 14, actual: 16 },
      { week: "2026-12-28", mean: 9, lo90: 7, hi90: 11.5, actual: 10 },
    ]);
    expect(chart.weeks).toEqual(["2026-12-28", "2027-01-04", "2027-01-11"]);
    expect(chart.mean).toEqual([9, 10, 12]);
    expect(chart.lower).toEqual([7, 6, 8]);
    expect(chart.width).toEqual([4.5, 8, 7]);
    expect(chart.upper).toEqual([11.5, 14, 15]);
    expect(chart.actual).toEqual([10, 16, null]);
    expect(chart.actuals).toBe(2);
    expect(chart.inside).toBe(1);
  });
});

describe("orderSeries", () => {
  it("puts the total first, then each product before its SKUs", () => {
    const ordered = orderSeries([
      { name: "mudguard/MG-GRN", level: "SKU" as const },
      { name: "frame", level: "PRODUCT" as const },
      { name: "mudguard", level: "PRODUCT" as const },
      { name: "total", level: "TOTAL" as const },
      { name: "frame/PF-BLK", level: "SKU" as const },
      { name: "mudguard/MG-BLK", level: "SKU" as const },
    ]);
    expect(ordered.map((s) => s.name)).toEqual([
      "total",
      "frame",
      "frame/PF-BLK",
      "mudguard",
      "mudguard/MG-BLK",
      "mudguard/MG-GRN",
    ]);
  });
});

describe("judge", () => {
  it("calls MASE under 1 and coverage near 90% good", () => {
    expect(judge({ mase: 0.8, coverage: 0.85 })).toEqual({ mase: "good", coverage: "good" });
    expect(judge({ mase: 1.3, coverage: 0.6 })).toEqual({ mase: "poor", coverage: "poor" });
    expect(judge({ mase: null })).toEqual({ mase: null, coverage: null });
  });
});

describe("what a re-plan moved", () => {
  const moves = [
    { sku: "A", week: "2027-01-11", before: 100, after: 150, frozen: false },
    { sku: "B", week: "2027-01-11", before: 60, after: 60, frozen: true },
    { sku: "A", week: "2027-01-04", before: 0, after: 40, frozen: false },
    { sku: "B", week: "2027-01-18", before: 80, after: 0, frozen: false },
  ];

  it("sums units a week before and after", () => {
    expect(movesChart(moves)).toEqual({
      weeks: ["2027-01-04", "2027-01-11", "2027-01-18"],
      before: [0, 160, 80],
      after: [40, 210, 0],
    });
  });

  it("keeps what changed, the largest change first", () => {
    expect(changedMoves(moves).map((m) => `${m.sku} ${m.week}`)).toEqual([
      "B 2027-01-18",
      "A 2027-01-11",
      "A 2027-01-04",
    ]);
  });
});

describe("variants and lots", () => {
  it("groups SKUs by routing variant, the base first", () => {
    const groups = variantGroups([
      { code: "MG-GRN-P", variant: "9f1" },
      { code: "MG-GRN", variant: "" },
      { code: "MG-BLK", variant: "" },
      { code: "MG-BLK-P", variant: "9f1" },
      { code: "MG-X", variant: "0a2" },
    ]);
    expect(groups.map((g) => [g.variant, g.skus.map((s) => s.code)])).toEqual([
      ["", ["MG-BLK", "MG-GRN"]],
      ["0a2", ["MG-X"]],
      ["9f1", ["MG-BLK-P", "MG-GRN-P"]],
    ]);
  });

  it("counts one lot per product, variant and week", () => {
    const proposal = { status: "PROPOSED", quantity: 50 };
    expect(
      lotsOf([
        { ...proposal, id: "1", productId: "p", variant: "", week: "2027-01-04" },
        { ...proposal, id: "2", productId: "p", variant: "", week: "2027-01-04" },
        { ...proposal, id: "3", productId: "p", variant: "9f1", week: "2027-01-04" },
        { ...proposal, id: "4", productId: "q", variant: "", week: "2027-01-04" },
        { ...proposal, id: "5", productId: "p", variant: "", week: "2027-01-11" },
      ]),
    ).toEqual({ lots: 4, units: 250 });
    expect(selectable({ status: "PROPOSED" })).toBe(true);
    expect(selectable({ status: "ACCEPTED" })).toBe(false);
  });
});

describe("levels below a SKU", () => {
  it("reads a series' level from its name and what the forecast was made by", () => {
    expect(levelOf("total", "CHANNEL")).toBe("TOTAL");
    expect(levelOf("bell", "CHANNEL")).toBe("PRODUCT");
    expect(levelOf("bell/BELL-BLK", "CHANNEL")).toBe("SKU");
    expect(levelOf("bell/BELL-BLK/tmall", "CHANNEL")).toBe("CHANNEL");
    expect(levelOf("bell/BELL-BLK/CN-ZJ", "REGION")).toBe("REGION");
  });

  it("orders a SKU's channels after it, as its regions are", () => {
    const series = [
      { name: "bell/BELL-BLK/tmall", level: "CHANNEL" as const },
      { name: "bell/BELL-BLK", level: "SKU" as const },
      { name: "bell", level: "PRODUCT" as const },
    ];
    expect(orderSeries(series).map((s) => s.name)).toEqual([
      "bell",
      "bell/BELL-BLK",
      "bell/BELL-BLK/tmall",
    ]);
  });
});
