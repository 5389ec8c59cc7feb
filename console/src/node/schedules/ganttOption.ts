/** The ECharts option of a schedule's Gantt chart (custom series: one per job, plus unavailable windows). */
import type {
  CustomSeriesRenderItemAPI,
  CustomSeriesRenderItemParams,
  CustomSeriesRenderItemReturn,
} from "echarts";
import { graphic } from "echarts/core";
import type { EChartsCoreOption } from "../../components/EChart";
import {
  escapeHtml,
  type GanttBar,
  type GanttModel,
  LATE_COLOR,
  minuteAt,
  UNAVAILABLE_COLOR,
} from "./gantt";

export interface GanttTexts {
  job: string;
  operation: string;
  machine: string;
  start: string;
  end: string;
  due: string;
  setup: string;
  late: string;
  unavailable: string;
  /** A date and time in the console's language. */
  dateTime: (ms: number) => string;
  /** A short axis label. */
  axisTime: (ms: number) => string;
  minutes: (n: number) => string;
  windowKind: (kind: string) => string;
}

type Rect = { x: number; y: number; width: number; height: number };

function bandRect(
  params: CustomSeriesRenderItemParams,
  api: CustomSeriesRenderItemAPI,
  from: number,
  to: number,
  share: number,
): Rect | undefined {
  const row = api.value(0) as number;
  const start = api.coord([from, row]) as number[];
  const end = api.coord([to, row]) as number[];
  const size = api.size?.([0, 1]) as number[] | undefined;
  const band = size?.[1] ?? 20;
  const height = band * share;
  const system = params.coordSys as unknown as Rect;
  return graphic.clipRectByRect(
    {
      x: start[0] ?? 0,
      y: (start[1] ?? 0) - height / 2,
      width: (end[0] ?? 0) - (start[0] ?? 0),
      height,
    },
    { x: system.x, y: system.y, width: system.width, height: system.height },
  );
}

function renderTask(
  params: CustomSeriesRenderItemParams,
  api: CustomSeriesRenderItemAPI,
): CustomSeriesRenderItemReturn {
  const setupStart = api.value(1) as number;
  const start = api.value(2) as number;
  const end = api.value(3) as number;
  const late = api.value(5) === 1;
  const color = api.visual("color") as string;
  const body = bandRect(params, api, start, end, 0.62);
  if (!body) return null;
  const setup = setupStart < start ? bandRect(params, api, setupStart, start, 0.3) : undefined;
  const children: CustomSeriesRenderItemReturn[] = [];
  if (setup) {
    children.push({ type: "rect", shape: setup, style: { fill: color, opacity: 0.35 } });
  }
  children.push({
    type: "rect",
    shape: body,
    style: {
      fill: color,
      stroke: late ? LATE_COLOR : "#ffffff",
      lineWidth: late ? 3 : 1,
    },
  });
  const text = String(api.value(6) ?? "");
  if (body.width > text.length * 7 + 8) {
    children.push({
      type: "text",
      style: {
        text,
        x: body.x + 4,
        y: body.y + body.height / 2,
        verticalAlign: "middle",
        fill: "#ffffff",
        font: "12px sans-serif",
      },
      silent: true,
    });
  }
  return { type: "group", children } as CustomSeriesRenderItemReturn;
}

function renderWindow(
  params: CustomSeriesRenderItemParams,
  api: CustomSeriesRenderItemAPI,
): CustomSeriesRenderItemReturn {
  const shape = bandRect(params, api, api.value(1) as number, api.value(2) as number, 0.9);
  return shape ? { type: "rect", shape, style: { fill: UNAVAILABLE_COLOR, opacity: 0.6 } } : null;
}

function taskTooltip(bar: GanttBar, texts: GanttTexts, start: string): string {
  const lines = [
    `<strong>${escapeHtml(bar.label)}</strong>`,
    `${escapeHtml(texts.job)}: ${escapeHtml(bar.job)}`,
    `${escapeHtml(texts.operation)}: ${bar.operation + 1}`,
    `${escapeHtml(texts.machine)}: ${escapeHtml(bar.machine)}`,
    `${escapeHtml(texts.start)}: ${escapeHtml(texts.dateTime(bar.start))}`,
    `${escapeHtml(texts.end)}: ${escapeHtml(texts.dateTime(bar.end))}`,
  ];
  if (bar.setup > 0) {
    lines.push(`${escapeHtml(texts.setup)}: ${escapeHtml(texts.minutes(bar.setup))}`);
  }
  if (bar.due !== null) {
    lines.push(`${escapeHtml(texts.due)}: ${escapeHtml(texts.dateTime(minuteAt(start, bar.due)))}`);
  }
  if (bar.late) lines.push(`<span style="color:${LATE_COLOR}">${escapeHtml(texts.late)}</span>`);
  return lines.join("<br/>");
}

/** Value of a task datum: row, setup start, start, end, bar index, late (1/0), label. */
export function ganttOption(
  model: GanttModel,
  start: string,
  texts: GanttTexts,
): EChartsCoreOption {
  const byJob = new Map<string, (number | string)[][]>();
  model.bars.forEach((bar, index) => {
    const data = byJob.get(bar.job) ?? [];
    data.push([bar.row, bar.setupStart, bar.start, bar.end, index, bar.late ? 1 : 0, bar.job]);
    byJob.set(bar.job, data);
  });
  const markers = new Map(model.markers.map((m) => [m.job, m]));
  const jobSeries = model.jobs.map((job) => {
    const marker = markers.get(job.id);
    return {
      type: "custom",
      name: job.id,
      renderItem: renderTask,
      itemStyle: { color: job.color },
      encode: { x: [1, 2, 3], y: 0 },
      data: byJob.get(job.id) ?? [],
      markLine: marker
        ? {
            symbol: "none",
            silent: false,
            label: {
              formatter: job.id,
              position: "start",
              color: marker.late ? LATE_COLOR : job.color,
            },
            lineStyle: {
              type: "dashed",
              color: marker.late ? LATE_COLOR : job.color,
              width: marker.late ? 2 : 1,
            },
            tooltip: {
              formatter: () =>
                `${escapeHtml(texts.due)} ${escapeHtml(job.id)}: ${escapeHtml(texts.dateTime(marker.at))}`,
            },
            data: [{ xAxis: marker.at }],
          }
        : undefined,
    };
  });
  const windowSeries = {
    type: "custom",
    name: texts.unavailable,
    renderItem: renderWindow,
    z: 1,
    encode: { x: [1, 2], y: 0 },
    data: model.windows.map((w) => [w.row, w.start, w.end, w.kind]),
    tooltip: {
      formatter: (p: { value: (number | string)[] }) =>
        `${escapeHtml(texts.windowKind(String(p.value[3])))}<br/>${escapeHtml(
          texts.dateTime(Number(p.value[1])),
        )} – ${escapeHtml(texts.dateTime(Number(p.value[2])))}`,
    },
  };
  return {
    animation: false,
    legend: {
      type: "scroll",
      top: 0,
      data: model.jobs.map((job) => job.id),
    },
    tooltip: {
      trigger: "item",
      confine: true,
      formatter: (p: { seriesName?: string; value?: unknown }) => {
        const value = p.value as (number | string)[] | undefined;
        const bar = value ? model.bars[Number(value[4])] : undefined;
        return bar ? taskTooltip(bar, texts, start) : escapeHtml(p.seriesName ?? "");
      },
    },
    grid: { left: 8, right: 40, top: 56, bottom: 56, containLabel: true },
    xAxis: {
      type: "time",
      min: model.from,
      max: model.to,
      axisLabel: { formatter: (value: number) => texts.axisTime(value), hideOverlap: true },
      splitLine: { show: true, lineStyle: { color: "#f0f0f0" } },
    },
    yAxis: {
      type: "category",
      inverse: true,
      data: model.rows.map((row) => row.name),
      axisLabel: { color: "#262626" },
    },
    dataZoom: [
      { type: "slider", xAxisIndex: 0, filterMode: "weakFilter", bottom: 8, height: 20 },
      { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" },
    ],
    series: model.windows.length > 0 ? [windowSeries, ...jobSeries] : jobSeries,
  };
}
