/**
 * A schedule's Gantt data (the node's `gantt`: minutes from the plan's start) shaped for the
 * chart: one row per machine, one bar per operation coloured by its job, unavailable windows,
 * a due-date marker per job, and which jobs end late.
 */
import type { ScheduleFieldsFragment } from "../../gql/node/graphql";

export type GanttData = ScheduleFieldsFragment["gantt"];

/** Distinct colours for jobs, dark enough to carry white text. */
export const JOB_PALETTE = [
  "#1d4ed8",
  "#047857",
  "#b45309",
  "#7c3aed",
  "#be185d",
  "#0e7490",
  "#4d7c0f",
  "#9a3412",
  "#4338ca",
  "#0f766e",
  "#a21caf",
  "#854d0e",
];

export const LATE_COLOR = "#cf1322";
export const UNAVAILABLE_COLOR = "#d9d9d9";

export interface GanttBar {
  /** Row index (the machine's position in `rows`). */
  row: number;
  machine: string;
  job: string;
  operation: number;
  label: string;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** When its setup begins (equal to `start` without setup). */
  setupStart: number;
  startMinute: number;
  endMinute: number;
  setup: number;
  late: boolean;
  color: string;
  due: number | null;
}

export interface GanttWindowBar {
  row: number;
  start: number;
  end: number;
  kind: string;
}

export interface DueMarker {
  job: string;
  /** Epoch milliseconds. */
  at: number;
  late: boolean;
  color: string;
}

export interface LateJob {
  job: string;
  minutes: number;
}

export interface GanttModel {
  rows: { id: string; name: string }[];
  /** Jobs in the order they first start, each with its colour. */
  jobs: { id: string; color: string; late: boolean }[];
  bars: GanttBar[];
  windows: GanttWindowBar[];
  markers: DueMarker[];
  lateJobs: LateJob[];
  /** Epoch milliseconds of minute 0 and of the view's end. */
  from: number;
  to: number;
}

/** Epoch milliseconds of a minute of the plan. */
export function minuteAt(start: string, minute: number): number {
  return new Date(start).getTime() + minute * 60_000;
}

/** Jobs whose end is after their due date, the latest first. */
export function lateJobs(jobs: GanttData["jobs"]): LateJob[] {
  return jobs
    .filter((job) => (job.lateness ?? 0) > 0)
    .map((job) => ({ job: job.id, minutes: job.lateness ?? 0 }))
    .sort((a, b) => b.minutes - a.minutes || a.job.localeCompare(b.job));
}

/** The jobs in the order their first operation starts (ties by id), so colours read left to right. */
function jobOrder(gantt: GanttData): string[] {
  const first = new Map<string, number>();
  for (const machine of gantt.machines) {
    for (const task of machine.tasks) {
      const seen = first.get(task.job);
      if (seen === undefined || task.start < seen) first.set(task.job, task.start);
    }
  }
  for (const job of gantt.jobs) {
    if (!first.has(job.id)) first.set(job.id, Number.POSITIVE_INFINITY);
  }
  return [...first.entries()]
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([job]) => job);
}

export function shapeGantt(gantt: GanttData): GanttModel {
  const late = lateJobs(gantt.jobs);
  const lateSet = new Set(late.map((j) => j.job));
  const colors = new Map(
    jobOrder(gantt).map((job, index) => [job, JOB_PALETTE[index % JOB_PALETTE.length] as string]),
  );
  const dues = new Map(gantt.jobs.map((job) => [job.id, job.due]));
  const at = (minute: number) => minuteAt(gantt.start, minute);
  const rows = gantt.machines.map((m) => ({ id: m.id, name: m.name || m.id }));
  const bars: GanttBar[] = [];
  const windows: GanttWindowBar[] = [];
  gantt.machines.forEach((machine, row) => {
    for (const task of machine.tasks) {
      bars.push({
        row,
        machine: machine.name || machine.id,
        job: task.job,
        operation: task.operation,
        label: task.label,
        start: at(task.start),
        end: at(task.end),
        setupStart: at(task.start - task.setup),
        startMinute: task.start,
        endMinute: task.end,
        setup: task.setup,
        late: task.late || lateSet.has(task.job),
        color: colors.get(task.job) ?? (JOB_PALETTE[0] as string),
        due: dues.get(task.job) ?? null,
      });
    }
    for (const window of machine.unavailable) {
      windows.push({ row, start: at(window.start), end: at(window.end), kind: window.kind });
    }
  });
  const markers: DueMarker[] = gantt.jobs
    .filter((job) => job.due !== null)
    .map((job) => ({
      job: job.id,
      at: at(job.due ?? 0),
      late: lateSet.has(job.id),
      color: colors.get(job.id) ?? (JOB_PALETTE[0] as string),
    }));
  const lastDue = Math.max(0, ...gantt.jobs.map((job) => job.due ?? 0));
  return {
    rows,
    jobs: [...colors.entries()].map(([id, color]) => ({ id, color, late: lateSet.has(id) })),
    bars,
    windows,
    markers,
    lateJobs: late,
    from: at(0),
    to: at(Math.max(gantt.viewEnd, gantt.makespan ?? 0, lastDue, 1)),
  };
}

/** Tallies for a schedule's headline: late jobs, minutes late over all jobs, operations. */
export function ganttSummary(gantt: GanttData) {
  const late = lateJobs(gantt.jobs);
  return {
    jobs: gantt.jobs.length,
    operations: gantt.machines.reduce((sum, m) => sum + m.tasks.length, 0),
    lateJobs: late.length,
    lateMinutes: late.reduce((sum, j) => sum + j.minutes, 0),
  };
}

/** Text escaped for ECharts' HTML tooltips. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
