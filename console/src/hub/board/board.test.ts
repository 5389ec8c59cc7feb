import { describe, expect, it } from "vitest";
import {
  distanceOption,
  ITEM_PATTERN,
  isoDay,
  postingInput,
  readBoardFilters,
  readMatchFilters,
  UNIT_PATTERN,
  writeBoardFilters,
  writeMatchFilters,
} from "./board";

describe("board filters", () => {
  it("reads what it writes and drops what it does not know", () => {
    const filters = readBoardFilters(
      new URLSearchParams("side=NEED&resource=CAPACITY&item=weaving&region=CN-ZJ&closed=1&mine=1"),
    );
    expect(filters).toEqual({
      side: "NEED",
      resource: "CAPACITY",
      item: "weaving",
      region: "CN-ZJ",
      closed: true,
      mine: true,
    });
    expect(readBoardFilters(writeBoardFilters(filters))).toEqual(filters);
    const junk = readBoardFilters(new URLSearchParams("side=BOTH&resource=LAND&closed=yes"));
    expect([junk.side, junk.resource, junk.closed]).toEqual([null, null, false]);
    expect(writeBoardFilters(readBoardFilters(new URLSearchParams())).toString()).toBe("");
  });

  it("keeps match filters in range and leaves other parameters alone", () => {
    expect(readMatchFilters(new URLSearchParams("km=500&coverage=0.5"))).toEqual({
      maxKm: 500,
      minCoverage: 0.5,
    });
    expect(readMatchFilters(new URLSearchParams("km=-3&coverage=2"))).toEqual({
      maxKm: null,
      minCoverage: null,
    });
    const next = writeMatchFilters(new URLSearchParams("tab=x&km=9"), {
      maxKm: null,
      minCoverage: 0.75,
    });
    expect(next.toString()).toBe("tab=x&coverage=0.75");
  });
});

describe("post form", () => {
  it("checks item and unit as the API does", () => {
    expect(ITEM_PATTERN.test("injection-moulding")).toBe(true);
    expect(ITEM_PATTERN.test("Injection moulding")).toBe(false);
    expect(ITEM_PATTERN.test("a--b")).toBe(false);
    expect(UNIT_PATTERN.test("hours")).toBe(true);
    expect(UNIT_PATTERN.test("m3/h")).toBe(true);
    expect(UNIT_PATTERN.test("Hours")).toBe(false);
  });

  it("trims the input and sends no distance limit for an empty one", () => {
    const input = postingInput({
      side: "NEED",
      resource: "CAPACITY",
      item: " injection-moulding ",
      quantity: 1000,
      unit: "hours ",
      availableFrom: "2026-12-08",
      availableTo: "2026-12-31",
      city: " Shanghai ",
      region: "CN-SH",
      latitude: 31.23,
      longitude: 121.47,
      maxDistanceKm: null,
    });
    expect(input).toMatchObject({ item: "injection-moulding", unit: "hours", city: "Shanghai" });
    expect(input.maxDistanceKm).toBeNull();
    expect(input.note).toBe("");
  });

  it("counts days on the local calendar", () => {
    expect(isoDay(0, new Date(2026, 11, 31))).toBe("2026-12-31");
    expect(isoDay(1, new Date(2026, 11, 31))).toBe("2027-01-01");
  });
});

describe("distance view", () => {
  it("puts the posting at the origin and each match at its distance and coverage", () => {
    const option = distanceOption(
      [
        {
          id: "a",
          name: "Ningbo",
          city: "Ningbo",
          distanceKm: 180.4,
          coverage: 1,
          quantity: 1000,
          unit: "hours",
          from: "2026-12-08",
        },
        {
          id: "b",
          name: "Dongguan",
          city: "Dongguan",
          distanceKm: 1230,
          coverage: 0.8,
          quantity: 800,
          unit: "hours",
          from: "2026-12-09",
        },
      ],
      { distance: "km", coverage: "%", posting: "this", matches: "matches" },
      (point) => point.name,
    );
    expect(option.series[0]?.data).toEqual([[0, 100]]);
    const matches = option.series[1]?.data as { value: number[] }[];
    expect(matches.map((point) => point.value)).toEqual([
      [180, 100],
      [1230, 80],
    ]);
    expect(option.xAxis.max).toBeGreaterThanOrEqual(1230);
    expect(option.tooltip.formatter({ seriesIndex: 1, dataIndex: 1 })).toBe("Dongguan");
    expect(option.tooltip.formatter({ seriesIndex: 0, dataIndex: 0 })).toBe("this");
  });
});
