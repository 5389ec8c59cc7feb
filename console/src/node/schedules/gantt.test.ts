import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  type GanttData,
  ganttSummary,
  JOB_PALETTE,
  lateJobs,
  minuteAt,
  shapeGantt,
} from "./gantt";
import { type GanttTexts, ganttOption } from "./ganttOption";

const START = "2026-12-07T00:00:00+00:00";
const T0 = Date.parse(START);

function task(job: string, operation: number, start: number, end: number, late = false, setup = 0) {
  return {
    job,
    operation,
    label: job,
    start,
    end,
    setup,
    startsAt: new Date(T0 + start * 60_000).toISOString(),
    endsAt: new Date(T0 + end * 60_000).toISOString(),
    family: "",
    late,
  };
}

const GANTT: GanttData = {
  status: "optimal",
  makespan: 200,
  viewEnd: 210,
  start: START,
  machines: [
    {
      id: "m1",
      name: "Press 1",
      tasks: [task("B", 0, 0, 60), task("A", 0, 60, 120, true, 10)],
      unavailable: [{ start: 150, end: 210, kind: "downtime" }],
    },
    { id: "m2", name: "", tasks: [task("A", 1, 120, 200, true)], unavailable: [] },
  ],
  jobs: [
    { id: "A", release: 0, due: 150, end: 200, lateness: 50 },
    { id: "B", release: 0, due: 300, end: 60, lateness: 0 },
    { id: "C", release: 0, due: null, end: null, lateness: null },
  ],
};

describe("shapeGantt", () => {
  const model = shapeGantt(GANTT);

  it("makes a row per machine, named by its name or else its id", () => {
    expect(model.rows).toEqual([
      { id: "m1", name: "Press 1" },
      { id: "m2", name: "m2" },
    ]);
  });

  it("makes a bar per operation on its machine's row, in clock time, with its setup before it", () => {
    expect(model.bars).toHaveLength(3);
    const a0 = model.bars.find((b) => b.job === "A" && b.operation === 0);
    expect(a0).toMatchObject({ row: 0, machine: "Press 1", late: true, due: 150, setup: 10 });
    expect(a0?.start).toBe(T0 + 60 * 60_000);
    expect(a0?.setupStart).toBe(T0 + 50 * 60_000);
    const a1 = model.bars.find((b) => b.job === "A" && b.operation === 1);
    expect(a1).toMatchObject({ row: 1, machine: "m2", startMinute: 120, endMinute: 200 });
  });

  it("colours jobs in the order they start, one colour per job", () => {
    expect(model.jobs.map((j) => j.id)).toEqual(["B", "A", "C"]);
    expect(model.jobs.map((j) => j.color)).toEqual(JOB_PALETTE.slice(0, 3));
    const colours = new Set(model.bars.filter((b) => b.job === "A").map((b) => b.color));
    expect([...colours]).toEqual([JOB_PALETTE[1]]);
  });

  it("marks each job's due date, late ones flagged, and none for a job without one", () => {
    expect(model.markers).toEqual([
      { job: "A", at: T0 + 150 * 60_000, late: true, color: JOB_PALETTE[1] },
      { job: "B", at: T0 + 300 * 60_000, late: false, color: JOB_PALETTE[0] },
    ]);
  });

  it("keeps unavailable windows on their rows", () => {
    expect(model.windows).toEqual([
      { row: 0, start: T0 + 150 * 60_000, end: T0 + 210 * 60_000, kind: "downtime" },
    ]);
  });

  it("spans from minute 0 to the latest of the view's end and the due dates", () => {
    expect(model.from).toBe(T0);
    expect(model.to).toBe(T0 + 300 * 60_000);
  });

  it("colours beyond the palette wrap round", () => {
    const many: GanttData = {
      ...GANTT,
      machines: [
        {
          id: "m",
          name: "m",
          tasks: Array.from({ length: JOB_PALETTE.length + 1 }, (_, i) =>
            task(`J${i}`, 0, i, i + 1),
          ),
          unavailable: [],
        },
      ],
      jobs: [],
    };
    const shaped = shapeGantt(many);
    expect(shaped.jobs.at(-1)?.color).toBe(JOB_PALETTE[0]);
  });
});

describe("lateness", () => {
  it("lists late jobs, the latest first", () => {
    expect(
      lateJobs([
        { id: "x", release: 0, due: 10, end: 15, lateness: 5 },
        { id: "y", release: 0, due: 10, end: 40, lateness: 30 },
        { id: "z", release: 0, due: 10, end: 5, lateness: 0 },
        { id: "w", release: 0, due: null, end: 5, lateness: null },
      ]),
    ).toEqual([
      { job: "y", minutes: 30 },
      { job: "x", minutes: 5 },
    ]);
  });

  it("sums a schedule's headline figures", () => {
    expect(ganttSummary(GANTT)).toEqual({ jobs: 3, operations: 3, lateJobs: 1, lateMinutes: 50 });
  });

  it("reads minutes as clock time from the plan's start", () => {
    expect(minuteAt(START, 90)).toBe(T0 + 90 * 60_000);
  });

  it("escapes text for HTML tooltips", () => {
    expect(escapeHtml(`<b a="1">&'</b>`)).toBe("&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;");
  });
});

describe("ganttOption", () => {
  const texts: GanttTexts = {
    job: "Job",
    operation: "Operation",
    machine: "Machine",
    start: "Start",
    end: "End",
    due: "Due",
    setup: "Setup",
    late: "Late",
    unavailable: "Unavailable",
    dateTime: (ms) => new Date(ms).toISOString(),
    axisTime: (ms) => String(ms),
    minutes: (n) => `${n} min`,
    windowKind: (kind) => kind,
  };
  const model = shapeGantt(GANTT);
  const option = ganttOption(model, START, texts) as {
    series: { name: string; data: unknown[][]; markLine?: { data: { xAxis: number }[] } }[];
    legend: { data: string[] };
    yAxis: { data: string[] };
    xAxis: { min: number; max: number };
    dataZoom: unknown[];
    tooltip: { formatter: (p: { seriesName?: string; value?: unknown }) => string };
  };

  it("draws the windows and one series per job, named for the legend", () => {
    expect(option.series.map((s) => s.name)).toEqual(["Unavailable", "B", "A", "C"]);
    expect(option.legend.data).toEqual(["B", "A", "C"]);
    expect(option.yAxis.data).toEqual(["Press 1", "m2"]);
    expect(option.series[2]?.data).toHaveLength(2);
    expect(option.dataZoom.length).toBeGreaterThan(0);
  });

  it("puts a due-date line on each job that has one", () => {
    expect(option.series[2]?.markLine?.data).toEqual([{ xAxis: T0 + 150 * 60_000 }]);
    expect(option.series[3]?.markLine).toBeUndefined();
  });

  it("tells job, operation, start, end, due and lateness on hover", () => {
    const a0 = option.series[2]?.data[0];
    const html = option.tooltip.formatter({ seriesName: "A", value: a0 });
    expect(html).toContain("Job: A");
    expect(html).toContain("Operation: 1");
    expect(html).toContain(`Start: ${new Date(T0 + 60 * 60_000).toISOString()}`);
    expect(html).toContain(`Due: ${new Date(T0 + 150 * 60_000).toISOString()}`);
    expect(html).toContain("Setup: 10 min");
    expect(html).toContain("Late");
  });
});
