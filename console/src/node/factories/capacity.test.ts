import { describe, expect, it } from "vitest";
import {
  addDays,
  capacityDays,
  daysFrom,
  defaultMeasure,
  isIsoDay,
  localToday,
  shapeCapacity,
  weekday,
} from "./capacity";

describe("days", () => {
  it("moves across months, years and leap days in UTC", () => {
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(daysFrom("2026-12-30", 3)).toEqual(["2026-12-30", "2026-12-31", "2027-01-01"]);
    expect(daysFrom("2026-12-30", 0)).toEqual([]);
  });

  it("tells a real ISO day from anything else", () => {
    expect(isIsoDay("2026-12-06")).toBe(true);
    expect(isIsoDay("2026-02-30")).toBe(false);
    expect(isIsoDay("2026-1-6")).toBe(false);
    expect(isIsoDay("")).toBe(false);
    expect(isIsoDay(null)).toBe(false);
  });

  it("takes today from the local calendar", () => {
    expect(localToday(new Date(2026, 0, 5, 23, 30))).toBe("2026-01-05");
  });
});

describe("shapeCapacity", () => {
  const entries = [
    { process: "moulding", day: "2026-12-07", availableHours: 16, downtimeHours: 0 },
    { process: "moulding", day: "2026-12-06", availableHours: 20, downtimeHours: 2, note: "shift" },
    { process: "assembly", day: "2026-12-06", availableUnits: 500, downtimeHours: 0 },
    { process: "assembly", day: "2026-12-07", availableHours: 8, downtimeHours: 1 },
    // Outside the period: neither a cell nor a row.
    { process: "painting", day: "2026-12-20", availableHours: 4, downtimeHours: 0 },
  ];

  it("puts processes on rows (sorted), days on columns, the measure in the cell", () => {
    const map = shapeCapacity(entries, "2026-12-06", 3, "availableHours");
    expect(map.days).toEqual(["2026-12-06", "2026-12-07", "2026-12-08"]);
    expect(map.processes).toEqual(["assembly", "moulding"]);
    expect(map.cells).toEqual([
      { value: [1, 0, 8], note: null },
      { value: [0, 1, 20], note: "shift" },
      { value: [1, 1, 16], note: null },
    ]);
    expect([map.min, map.max]).toEqual([8, 20]);
    // assembly's 12-06 entry is in units only.
    expect(map.withoutMeasure).toBe(1);
  });

  it("shows another measure, zero included", () => {
    const map = shapeCapacity(entries, "2026-12-06", 2, "downtimeHours");
    expect(map.cells.map((cell) => cell.value)).toEqual([
      [0, 0, 0],
      [1, 0, 1],
      [0, 1, 2],
      [1, 1, 0],
    ]);
    expect([map.min, map.max]).toEqual([0, 2]);
    expect(map.withoutMeasure).toBe(0);
  });

  it("keeps the last entry of a process and day", () => {
    const map = shapeCapacity(
      [
        { process: "p", day: "2026-12-06", availableHours: 1, downtimeHours: 0 },
        { process: "p", day: "2026-12-06", availableHours: 3, downtimeHours: 0 },
      ],
      "2026-12-06",
      1,
      "availableHours",
    );
    expect(map.cells).toEqual([{ value: [0, 0, 3], note: null }]);
  });

  it("is empty for a period without entries", () => {
    const map = shapeCapacity(entries, "2027-01-01", 7, "availableHours");
    expect(map.processes).toEqual([]);
    expect(map.cells).toEqual([]);
    expect([map.min, map.max, map.withoutMeasure]).toEqual([0, 0, 0]);
    expect(map.days).toHaveLength(7);
  });
});

describe("defaultMeasure", () => {
  it("shows hours where the calendar has them, else units", () => {
    const units = { process: "p", day: "2026-12-06", availableUnits: 10, downtimeHours: 0 };
    const hours = { process: "q", day: "2026-12-06", availableHours: 8, downtimeHours: 0 };
    expect(defaultMeasure([units, hours])).toBe("availableHours");
    expect(defaultMeasure([units])).toBe("availableUnits");
    expect(defaultMeasure([])).toBe("availableHours");
  });
});

describe("capacityDays", () => {
  it("gives each chosen weekday of the range the same entry", () => {
    // 2026-12-07 is a Monday.
    const days = capacityDays({
      process: " moulding ",
      from: "2026-12-05",
      days: 7,
      weekdays: [1, 2, 3, 4, 5],
      availableHours: 16,
      downtimeHours: null,
      note: " ",
    });
    expect(days.map((day) => day.day)).toEqual([
      "2026-12-07",
      "2026-12-08",
      "2026-12-09",
      "2026-12-10",
      "2026-12-11",
    ]);
    expect(days[0]).toEqual({
      process: "moulding",
      day: "2026-12-07",
      availableHours: 16,
      availableUnits: null,
      downtimeHours: 0,
      hourlyRate: null,
      note: null,
    });
  });

  it("takes every day when no weekday is chosen", () => {
    const days = capacityDays({ process: "p", from: "2026-12-05", days: 3, availableUnits: 500 });
    expect(days.map((day) => [weekday(day.day), day.availableUnits])).toEqual([
      [6, 500],
      [0, 500],
      [1, 500],
    ]);
  });
});
