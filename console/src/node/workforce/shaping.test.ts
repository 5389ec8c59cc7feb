import { describe, expect, it } from "vitest";
import {
  awaiting,
  checkAttendance,
  checkNeed,
  checkRating,
  checkWorker,
  contactReleased,
  groupShortfalls,
  headcountText,
  type NeedDraft,
  parseSkills,
  splitList,
  type WorkerDraft,
} from "./shaping";

const worker: WorkerDraft = {
  pseudonym: "W-017",
  name: "Li Na",
  skills: "sewing:4, overlock:3",
  certificates: "forklift",
  safetyTrained: true,
  availableFrom: "2026-03-01",
  availableTo: "2026-03-31",
  shifts: ["day"],
  homeArea: "Keqiao",
  lat: 30.08,
  lon: 120.49,
  radiusKm: 40,
  wageFloor: 260,
  team: "",
  phone: "138 0000 0000",
  email: "",
};

const need: NeedDraft = {
  title: "Peak season sewing",
  siteArea: "Shaoxing",
  lat: 30.0,
  lon: 120.58,
  skill: "sewing",
  minLevel: 3,
  certificates: "",
  firstDay: "2026-03-02",
  lastDay: "2026-03-15",
  headcount: { day: 6, evening: null, night: 0 },
  wage: 300,
  priority: 2,
  safetyTraining: true,
  keepTeam: false,
  housing: true,
  transport: false,
};

describe("lists", () => {
  it("reads skills with levels, level 1 where none is given", () => {
    expect(parseSkills("sewing:4, cnc")).toEqual([
      { skill: "sewing", level: 4 },
      { skill: "cnc", level: 1 },
    ]);
    expect(splitList(" a, b  a ")).toEqual(["a", "b"]);
    expect(parseSkills("")).toEqual([]);
  });
});

describe("workers", () => {
  it("sends a valid profile as the API takes it, empty extras as null", () => {
    const { input, problems } = checkWorker(worker);
    expect(problems).toEqual([]);
    expect(input).toMatchObject({
      pseudonym: "W-017",
      skills: [
        { skill: "sewing", level: 4 },
        { skill: "overlock", level: 3 },
      ],
      certificates: ["forklift"],
      homeLat: 30.08,
      team: null,
      phone: "138 0000 0000",
      email: null,
    });
  });

  it("names each problem at its field, as the API would refuse it", () => {
    const { input, problems } = checkWorker({
      ...worker,
      pseudonym: "",
      skills: "Sewing:4",
      availableTo: "2026-02-01",
      shifts: [],
      lat: 91,
      radiusKm: 301,
      wageFloor: null,
    });
    expect(input).toBeNull();
    expect(problems.map((p) => `${p.path}:${p.key}`)).toEqual([
      "pseudonym:length",
      "skills:name",
      "shifts:shifts",
      "availableTo:lastBeforeFirst",
      "lat:lat",
      "radiusKm:range",
      "wageFloor:range",
    ]);
  });

  it("refuses a level outside 1..5, too many skills and spans over 120 days", () => {
    expect(checkWorker({ ...worker, skills: "sewing:6" }).problems).toEqual([
      { path: "skills", key: "level", values: { name: "sewing" } },
    ]);
    const eleven = Array.from({ length: 11 }, (_, i) => `s${i}`).join(",");
    expect(checkWorker({ ...worker, skills: eleven }).problems[0]?.key).toBe("skillCount");
    expect(checkWorker({ ...worker, availableTo: "2026-07-01" }).problems).toEqual([
      { path: "availableTo", key: "tooManyDays", values: { max: 120 } },
    ]);
    expect(checkWorker({ ...worker, availableFrom: "1 March" }).problems).toEqual([
      { path: "availableFrom", key: "day" },
    ]);
  });
});

describe("needs", () => {
  it("sends only the shifts someone is wanted on", () => {
    const { input, problems } = checkNeed(need);
    expect(problems).toEqual([]);
    expect(input?.headcount).toEqual([{ shift: "day", workers: 6 }]);
    expect(input?.siteLat).toBe(30.0);
  });

  it("refuses a need with nobody wanted, no wage or a bad priority", () => {
    const { input, problems } = checkNeed({
      ...need,
      headcount: { day: 0, evening: null, night: 0 },
      wage: 0,
      priority: 11,
      skill: "sewing machine",
      minLevel: 0,
    });
    expect(input).toBeNull();
    expect(problems.map((p) => `${p.path}:${p.key}`)).toEqual([
      "skill:name",
      "minLevel:range",
      "headcount:nobody",
      "wage:wage",
      "priority:range",
    ]);
    expect(checkNeed({ ...need, headcount: { day: 501 } }).problems).toEqual([
      { path: "headcount", key: "headcount" },
    ]);
  });
});

describe("proposals", () => {
  it("waits for whoever has not accepted, and releases the contact only after both", () => {
    const open = { status: "PROPOSED" as const, employerAcceptedAt: "t", workerAcceptedAt: null };
    expect(awaiting(open)).toEqual(["WORKER"]);
    expect(contactReleased(open)).toBe(false);
    const both = { status: "ACCEPTED" as const, employerAcceptedAt: "t", workerAcceptedAt: "u" };
    expect(awaiting(both)).toEqual([]);
    expect(contactReleased(both)).toBe(true);
    expect(contactReleased({ ...both, status: "DECLINED" })).toBe(false);
    expect(awaiting({ status: "WITHDRAWN" })).toEqual([]);
  });

  it("writes a headcount per shift", () => {
    expect(
      headcountText([
        { shift: "day", workers: 2 },
        { shift: "night", workers: 1 },
      ]),
    ).toBe("2 day, 1 night");
  });
});

describe("shortfalls", () => {
  it("groups days by need and reason, the most missing first", () => {
    const groups = groupShortfalls([
      {
        needId: "a",
        day: "2026-03-03",
        shift: "day",
        wanted: 3,
        covered: 1,
        code: "radius",
        reason: "too far",
      },
      {
        needId: "a",
        day: "2026-03-02",
        shift: "day",
        wanted: 3,
        covered: 2,
        code: "radius",
        reason: "too far",
      },
      {
        needId: "b",
        day: "2026-03-02",
        shift: "night",
        wanted: 5,
        covered: 0,
        code: "skill",
        reason: "no one",
      },
    ]);
    expect(groups).toEqual([
      {
        needId: "b",
        code: "skill",
        reason: "no one",
        firstDay: "2026-03-02",
        lastDay: "2026-03-02",
        days: 1,
        missing: 5,
      },
      {
        needId: "a",
        code: "radius",
        reason: "too far",
        firstDay: "2026-03-02",
        lastDay: "2026-03-03",
        days: 2,
        missing: 3,
      },
    ]);
  });
});

describe("follow-up", () => {
  it("records attendance on the proposal's days only, no hours when absent", () => {
    const days = ["2026-03-02", "2026-03-03"];
    expect(checkAttendance(days, "2026-03-02", true, 8)).toEqual([]);
    expect(checkAttendance(days, "2026-03-02", false, 0)).toEqual([]);
    expect(checkAttendance(days, "2026-03-09", true, 17).map((p) => p.key)).toEqual([
      "notADay",
      "range",
    ]);
    expect(checkAttendance(days, "2026-03-03", false, 4)).toEqual([
      { path: "hours", key: "absentHours" },
    ]);
  });

  it("takes a score of 1 to 5 and a comment up to 500 characters", () => {
    expect(checkRating(4, "on time")).toEqual([]);
    expect(checkRating(0, "x".repeat(501)).map((p) => p.path)).toEqual(["score", "comment"]);
    expect(checkRating(null, "")[0]?.path).toBe("score");
  });
});
