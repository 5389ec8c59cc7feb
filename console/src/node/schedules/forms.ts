/**
 * What the schedule forms send: a job (operations on machines, due date, priority) in the API's
 * terms (minutes from the plan's start), and the checks made before asking the node.
 */
import type {
  CompareSchedulesQuery,
  ShopInput,
  ShopJobInput,
  ShopObjectiveInput,
} from "../../gql/node/graphql";

/** Anything with a time value: a Date, or the date picker's value (`valueOf()` in ms). */
export interface TimeValue {
  valueOf(): number;
}

export interface OperationValues {
  machines?: string[];
  minutes?: number | null;
}

export interface JobValues {
  id?: string;
  family?: string;
  /** Priority: the weight of its minutes late. */
  weight?: number | null;
  due?: TimeValue | null;
  release?: TimeValue | null;
  operations?: OperationValues[];
}

export interface NewScheduleValues {
  name?: string;
  start?: TimeValue | null;
  machines?: string[];
  jobs?: JobValues[];
  latenessWeight?: number | null;
  makespanWeight?: number | null;
}

/** An error key of the `schedules` namespace with its values. */
export interface FormProblem {
  key: string;
  values?: Record<string, string | number>;
}

/** Whole minutes from the plan's start (ISO) to a moment (ms). */
export function minutesFrom(planStart: string, at: number): number {
  return Math.round((at - new Date(planStart).getTime()) / 60_000);
}

/** "Now" in the plan's minutes, never before its start: work begun before it stays where it is. */
export function nowMinute(planStart: string, now: number = Date.now()): number {
  return Math.max(0, Math.floor((now - new Date(planStart).getTime()) / 60_000));
}

/** A job id not yet in the schedule: RUSH-1, RUSH-2, ... */
export function nextJobId(existing: Iterable<string>, prefix = "RUSH"): string {
  const taken = new Set(existing);
  let n = 1;
  while (taken.has(`${prefix}-${n}`)) n += 1;
  return `${prefix}-${n}`;
}

export function checkJob(
  job: JobValues,
  {
    existing = [],
    planStart,
    now,
  }: { existing?: Iterable<string>; planStart: string; now?: number },
): FormProblem[] {
  const problems: FormProblem[] = [];
  const id = (job.id ?? "").trim();
  if (!id) problems.push({ key: "form.errors.jobId" });
  else if (new Set(existing).has(id))
    problems.push({ key: "form.errors.jobTaken", values: { id } });
  const operations = job.operations ?? [];
  if (operations.length === 0) problems.push({ key: "form.errors.noOperations" });
  operations.forEach((op, index) => {
    if (!op.machines || op.machines.length === 0) {
      problems.push({ key: "form.errors.machines", values: { n: index + 1 } });
    }
    if (!op.minutes || op.minutes <= 0 || !Number.isInteger(op.minutes)) {
      problems.push({ key: "form.errors.minutes", values: { n: index + 1 } });
    }
  });
  if (job.due) {
    const due = minutesFrom(planStart, job.due.valueOf());
    if (due <= 0 || (now !== undefined && job.due.valueOf() <= now)) {
      problems.push({ key: "form.errors.dueBeforeStart" });
    }
  }
  if (job.weight !== undefined && job.weight !== null && job.weight <= 0) {
    problems.push({ key: "form.errors.weight" });
  }
  return problems;
}

/** A job as `ShopJobInput`: each operation runs on any of its machines for its minutes. */
export function jobInput(job: JobValues, planStart: string): ShopJobInput {
  return {
    id: (job.id ?? "").trim(),
    family: (job.family ?? "").trim(),
    weight: job.weight ?? 1,
    due: job.due ? minutesFrom(planStart, job.due.valueOf()) : null,
    release: job.release ? Math.max(0, minutesFrom(planStart, job.release.valueOf())) : 0,
    operations: (job.operations ?? []).map((op) => ({
      options: (op.machines ?? []).map((machine) => ({ machine, minutes: op.minutes ?? 0 })),
    })),
  };
}

export function checkNewSchedule(values: NewScheduleValues, now: number): FormProblem[] {
  const problems: FormProblem[] = [];
  if (!(values.name ?? "").trim()) problems.push({ key: "form.errors.name" });
  const machines = new Set(values.machines ?? []);
  if (machines.size === 0) problems.push({ key: "form.errors.noMachines" });
  const jobs = values.jobs ?? [];
  if (jobs.length === 0) problems.push({ key: "form.errors.noJobs" });
  const start = new Date(values.start ? values.start.valueOf() : now).toISOString();
  const seen: string[] = [];
  for (const job of jobs) {
    problems.push(...checkJob(job, { existing: seen, planStart: start }));
    for (const op of job.operations ?? []) {
      for (const machine of op.machines ?? []) {
        if (!machines.has(machine)) {
          problems.push({ key: "form.errors.unknownMachine", values: { machine } });
        }
      }
    }
    seen.push((job.id ?? "").trim());
  }
  return problems;
}

/** The variables of `scheduleFactory` from the new-schedule form. */
export function newScheduleVariables(
  values: NewScheduleValues,
  machineNames: ReadonlyMap<string, string>,
  now: number,
): { name: string; start: string; input: ShopInput; objective: ShopObjectiveInput } {
  const start = new Date(values.start ? values.start.valueOf() : now);
  start.setSeconds(0, 0);
  const planStart = start.toISOString();
  return {
    name: (values.name ?? "").trim(),
    start: planStart,
    input: {
      machines: (values.machines ?? []).map((id) => ({ id, name: machineNames.get(id) ?? id })),
      jobs: (values.jobs ?? []).map((job) => jobInput(job, planStart)),
    },
    objective: {
      lateness: values.latenessWeight ?? 1,
      makespan: values.makespanWeight ?? 0.1,
    },
  };
}

export type Comparison = CompareSchedulesQuery["compareSchedules"];
export type ScenarioSummary = Comparison["scenarios"][number];

export interface ScenarioColumn {
  /** The schedule's id (the comparison keeps the order it was asked in). */
  id: string;
  summary: ScenarioSummary;
  /** Metrics where this scenario is (one of) the best. */
  best: string[];
}

export function scenarioColumns(comparison: Comparison, ids: readonly string[]): ScenarioColumn[] {
  return comparison.scenarios.map((summary, index) => ({
    id: ids[index] ?? summary.name,
    summary,
    best: comparison.best
      .filter((metric) => metric.scenarios.includes(summary.name))
      .map((metric) => metric.metric),
  }));
}

/** Ids from a comma-separated search parameter, unique, in order, at most `limit`. */
export function parseIds(value: string | null, limit = 4): string[] {
  const ids = (value ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  return [...new Set(ids)].slice(0, limit);
}
