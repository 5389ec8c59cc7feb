import { describe, expect, it } from "vitest";
import {
  checkJob,
  checkNewSchedule,
  jobInput,
  minutesFrom,
  newScheduleVariables,
  nextJobId,
  nowMinute,
  parseIds,
  scenarioColumns,
} from "./forms";

const START = "2026-12-07T08:00:00.000Z";
const T0 = Date.parse(START);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

describe("times in the plan's minutes", () => {
  it("counts whole minutes from the plan's start", () => {
    expect(minutesFrom(START, T0 + 90 * 60_000 + 20_000)).toBe(90);
    expect(minutesFrom(START, T0 - 30 * 60_000)).toBe(-30);
  });

  it("takes now as a minute of the plan, never before its start", () => {
    expect(nowMinute(START, T0 + 61 * 60_000 + 59_000)).toBe(61);
    expect(nowMinute(START, T0 - 3_600_000)).toBe(0);
  });
});

describe("a rush job", () => {
  const values = {
    id: " RUSH-1 ",
    family: "mudguard",
    weight: 5,
    due: at(240),
    operations: [
      { machines: ["m1", "m2"], minutes: 45 },
      { machines: ["m3"], minutes: 30 },
    ],
  };

  it("becomes the API's job: each operation on any of its machines, due in plan minutes", () => {
    expect(jobInput(values, START)).toEqual({
      id: "RUSH-1",
      family: "mudguard",
      weight: 5,
      due: 240,
      release: 0,
      operations: [
        {
          options: [
            { machine: "m1", minutes: 45 },
            { machine: "m2", minutes: 45 },
          ],
        },
        { options: [{ machine: "m3", minutes: 30 }] },
      ],
    });
  });

  it("has no due date and priority 1 when none is given", () => {
    const job = jobInput({ id: "X", operations: [{ machines: ["m1"], minutes: 5 }] }, START);
    expect(job.due).toBeNull();
    expect(job.weight).toBe(1);
  });

  it("passes the checks when complete", () => {
    expect(checkJob(values, { existing: ["A"], planStart: START, now: T0 })).toEqual([]);
  });

  it("is refused with reasons: taken id, no machine, bad minutes, due in the past, no priority", () => {
    const problems = checkJob(
      {
        id: "A",
        weight: 0,
        due: at(10),
        operations: [
          { machines: [], minutes: 0 },
          { machines: ["m1"], minutes: 2.5 },
        ],
      },
      { existing: ["A"], planStart: START, now: T0 + 20 * 60_000 },
    );
    expect(problems.map((p) => p.key)).toEqual([
      "form.errors.jobTaken",
      "form.errors.machines",
      "form.errors.minutes",
      "form.errors.minutes",
      "form.errors.dueBeforeStart",
      "form.errors.weight",
    ]);
    expect(problems[1]?.values).toEqual({ n: 1 });
  });

  it("needs an id and an operation", () => {
    expect(checkJob({ id: " ", operations: [] }, { planStart: START }).map((p) => p.key)).toEqual([
      "form.errors.jobId",
      "form.errors.noOperations",
    ]);
  });

  it("gets the first free id", () => {
    expect(nextJobId([])).toBe("RUSH-1");
    expect(nextJobId(["RUSH-1", "RUSH-2", "RUSH-4"])).toBe("RUSH-3");
  });
});

describe("a new schedule", () => {
  const values = {
    name: " Monday ",
    start: new Date(T0 + 42_000),
    machines: ["press-1", "press-2"],
    jobs: [
      { id: "J-1", due: at(120), operations: [{ machines: ["press-1"], minutes: 60 }] },
      { id: "J-2", weight: 2, operations: [{ machines: ["press-1", "press-2"], minutes: 30 }] },
    ],
    latenessWeight: 2,
    makespanWeight: null,
  };

  it("becomes scheduleFactory's variables, starting on the whole minute", () => {
    const vars = newScheduleVariables(values, new Map([["press-1", "Press 1"]]), T0);
    expect(vars.name).toBe("Monday");
    expect(vars.start).toBe(START);
    expect(vars.input.machines).toEqual([
      { id: "press-1", name: "Press 1" },
      { id: "press-2", name: "press-2" },
    ]);
    expect(vars.input.jobs.map((j) => [j.id, j.due, j.weight])).toEqual([
      ["J-1", 120, 1],
      ["J-2", null, 2],
    ]);
    expect(vars.objective).toEqual({ lateness: 2, makespan: 0.1 });
  });

  it("passes the checks when complete", () => {
    expect(checkNewSchedule(values, T0)).toEqual([]);
  });

  it("refuses duplicate jobs and machines not in the schedule", () => {
    const problems = checkNewSchedule(
      {
        name: "x",
        machines: ["press-1"],
        jobs: [
          { id: "J", operations: [{ machines: ["press-1"], minutes: 5 }] },
          { id: "J", operations: [{ machines: ["press-9"], minutes: 5 }] },
        ],
      },
      T0,
    );
    expect(problems).toEqual([
      { key: "form.errors.jobTaken", values: { id: "J" } },
      { key: "form.errors.unknownMachine", values: { machine: "press-9" } },
    ]);
  });

  it("needs a name, machines and jobs", () => {
    expect(checkNewSchedule({}, T0).map((p) => p.key)).toEqual([
      "form.errors.name",
      "form.errors.noMachines",
      "form.errors.noJobs",
    ]);
  });
});

describe("what-if", () => {
  const summary = (name: string, makespan: number) => ({
    name,
    status: "optimal",
    objective: 1,
    makespan,
    weightedLateness: 0,
    lateJobs: [],
    changes: 0,
    solveTimeS: 0.1,
  });

  it("pairs each scenario with the schedule asked for and its best metrics", () => {
    const columns = scenarioColumns(
      {
        scenarios: [summary("base (aaaa)", 100), summary("rush (bbbb)", 120)],
        best: [
          { metric: "makespan", scenarios: ["base (aaaa)"] },
          { metric: "weighted_lateness", scenarios: ["base (aaaa)", "rush (bbbb)"] },
        ],
      },
      ["id-a", "id-b"],
    );
    expect(columns.map((c) => [c.id, c.best])).toEqual([
      ["id-a", ["makespan", "weighted_lateness"]],
      ["id-b", ["weighted_lateness"]],
    ]);
  });

  it("reads schedule ids from the address: valid, unique, at most four", () => {
    const a = "11111111-1111-1111-1111-111111111111";
    const b = "22222222-2222-2222-2222-222222222222";
    expect(parseIds(`${a},junk,${b},${a}`)).toEqual([a, b]);
    expect(parseIds(null)).toEqual([]);
    expect(parseIds(Array(6).fill(a).join(","), 4)).toEqual([a]);
  });
});
