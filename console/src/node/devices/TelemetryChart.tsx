import { Button, Segmented, Select, Space, Tag, Typography } from "antd";
import { LineChart } from "echarts/charts";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { EChart, type EChartsCoreOption, type EChartsType, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { TelemetryQuery } from "./queries";
import {
  chooseResolution,
  fromApi,
  type LiveReading,
  mergeReadings,
  POINT_LIMIT,
  queryWindow,
  RANGES,
  type RangeId,
  toSeriesData,
  trimToWindow,
  type Window,
} from "./telemetry";

use([LineChart]);

/** The name of the performance mark set when a new last point is on screen (benchmarks read it). */
export const DRAWN_MARK = "yunfab:telemetry-drawn";
/** How long a chart that follows now draws from live readings alone before asking again. */
const REANCHOR_MS = 2 * 60_000;

export interface MetricChoice {
  name: string;
  unit: string;
}

export function TelemetryChart({
  deviceId,
  metrics,
  metric,
  onMetric,
  range,
  onRange,
  live,
}: {
  deviceId: string;
  metrics: MetricChoice[];
  metric: string;
  onMetric: (metric: string) => void;
  range: RangeId;
  onRange: (range: RangeId) => void;
  /** Readings from the subscription, oldest first (the newest few hundred). */
  live: readonly LiveReading[];
}) {
  const { t } = useTranslation("devices");
  const format = useFormat();
  const rangeMs = RANGES[range];
  // When the range was last asked for; live readings move the visible end on from there.
  const [anchor, setAnchor] = useState(() => Date.now());
  // The zoom on screen (follows the person's hand) and the one asked of the node (settled).
  const [zoom, setZoom] = useState<Window | null>(null);
  const [queryZoom, setQueryZoom] = useState<Window | null>(null);
  const chartRef = useRef<EChartsType | null>(null);

  // A new metric or range starts a fresh, unzoomed window ending now.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on a change of metric or range
  useEffect(() => {
    setAnchor(Date.now());
    setZoom(null);
    setQueryZoom(null);
  }, [metric, range, deviceId]);
  useEffect(() => {
    const timer = window.setTimeout(() => setQueryZoom(zoom), 400);
    return () => window.clearTimeout(timer);
  }, [zoom]);

  const span = useMemo(() => queryWindow(rangeMs, anchor, queryZoom), [rangeMs, anchor, queryZoom]);
  const resolution = chooseResolution(span.end - span.start);
  const variables = useMemo(
    () => ({
      deviceId,
      metric,
      start: new Date(span.start).toISOString(),
      end: new Date(span.end).toISOString(),
      resolution,
      limit: POINT_LIMIT,
    }),
    [deviceId, metric, span, resolution],
  );
  const [{ data, fetching, error }] = useQuery({
    query: TelemetryQuery,
    variables,
    pause: !metric,
    requestPolicy: "network-only",
  });
  const series = data?.telemetry;
  // The end of the window the drawn answer covers: live readings from there on are added.
  const answered = useRef<{ data: unknown; end: number }>({ data: undefined, end: span.end });
  if (data !== answered.current.data) answered.current = { data, end: span.end };
  const answeredEnd = answered.current.end;
  // What is drawn: the last answer (kept on screen while the next one loads), at its resolution.
  const drawn = series?.resolution ?? resolution;
  const unit = series?.unit ?? metrics.find((m) => m.name === metric)?.unit ?? "";

  // Newest reading time seen live: the end of a window that follows now.
  const liveEnd = useMemo(() => {
    let newest = anchor;
    for (const reading of live) {
      const at = Date.parse(reading.at);
      if (at > newest) newest = at;
    }
    return newest;
  }, [live, anchor]);

  const following = zoom === null;
  const points = useMemo(() => {
    const base = series && series.metric === metric ? fromApi(series.points) : [];
    if (!following) return base;
    const merged = mergeReadings(base, live, metric, drawn, {
      start: answeredEnd,
      end: Number.POSITIVE_INFINITY,
    });
    return trimToWindow(merged, liveEnd - rangeMs);
  }, [series, metric, following, live, drawn, answeredEnd, liveEnd, rangeMs]);

  // While following now, ask again every little while: live readings are kept only so long.
  useEffect(() => {
    if (following && liveEnd - anchor > Math.min(rangeMs / 4, REANCHOR_MS)) setAnchor(Date.now());
  }, [following, liveEnd, anchor, rangeMs]);

  const axisStart = following ? liveEnd - rangeMs : anchor - rangeMs;
  const axisEnd = following ? Math.max(liveEnd, anchor) : anchor;
  const last = points[points.length - 1];

  const option = useMemo<EChartsCoreOption>(() => {
    const { line } = toSeriesData(points);
    const rollup = drawn !== "RAW";
    const extra = rollup
      ? [
          {
            name: t("chart.min"),
            type: "line",
            data: points.map((p) => [p.at, p.min ?? p.value]),
            showSymbol: false,
            lineStyle: { width: 1, type: "dashed", opacity: 0.6 },
          },
          {
            name: t("chart.max"),
            type: "line",
            data: points.map((p) => [p.at, p.max ?? p.value]),
            showSymbol: false,
            lineStyle: { width: 1, type: "dashed", opacity: 0.6 },
          },
        ]
      : [];
    return {
      animation: false,
      grid: { left: 56, right: 24, top: 40, bottom: 72 },
      legend: rollup ? { top: 0 } : undefined,
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", min: axisStart, max: axisEnd },
      yAxis: { type: "value", name: unit, scale: true },
      dataZoom: [
        {
          type: "inside",
          filterMode: "none",
          ...(zoom ? { startValue: zoom.start, endValue: zoom.end } : { start: 0, end: 100 }),
        },
        {
          type: "slider",
          filterMode: "none",
          ...(zoom ? { startValue: zoom.start, endValue: zoom.end } : { start: 0, end: 100 }),
        },
      ],
      series: [
        {
          name: rollup ? t("chart.mean") : metric,
          type: "line",
          data: line,
          showSymbol: line.length < 60,
          sampling: "lttb",
        },
        ...extra,
      ],
    };
  }, [points, drawn, axisStart, axisEnd, unit, zoom, metric, t]);

  // The zoom the person chose decides what is asked next (and at which resolution). The
  // handler reads the axis and the zoom of the latest render through refs.
  const latest = useRef({ axisStart, axisEnd, zoom });
  latest.current = { axisStart, axisEnd, zoom };
  const onReady = useCallback((chart: EChartsType) => {
    chartRef.current = chart;
    chart.on("datazoom", () => {
      type Zoom = { start?: number; end?: number; startValue?: number; endValue?: number };
      const first = (chart.getOption() as { dataZoom?: Zoom[] }).dataZoom?.[0];
      if (!first) return;
      const startPct = first.start ?? 0;
      const endPct = first.end ?? 100;
      if (startPct <= 0.5 && endPct >= 99.5) {
        if (latest.current.zoom !== null) {
          setAnchor(Date.now());
          setZoom(null);
        }
        return;
      }
      const { axisStart: low, axisEnd: high, zoom: current } = latest.current;
      const from =
        typeof first.startValue === "number"
          ? first.startValue
          : low + ((high - low) * startPct) / 100;
      const to =
        typeof first.endValue === "number" ? first.endValue : low + ((high - low) * endPct) / 100;
      // Leaving the live view: the axis stays where it was on screen.
      if (current === null) setAnchor(high);
      setZoom({ start: from, end: to });
    });
  }, []);

  // When a new last point is on screen (two frames after the option was set), say so.
  const lastAt = last?.at;
  useEffect(() => {
    if (lastAt === undefined) return;
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => {
        performance.mark(DRAWN_MARK, { detail: { at: lastAt } });
      });
    });
    return () => cancelAnimationFrame(frame);
  }, [lastAt]);

  const rangeOptions = (Object.keys(RANGES) as RangeId[]).map((id) => ({
    value: id,
    label: t(`chart.ranges.${id}`),
  }));

  return (
    <>
      <Space wrap style={{ marginBottom: 12, width: "100%", justifyContent: "space-between" }}>
        <Space wrap>
          <Select
            aria-label={t("chart.metric")}
            value={metric}
            onChange={onMetric}
            options={metrics.map((m) => ({ value: m.name, label: `${m.name} (${m.unit})` }))}
            style={{ minWidth: 220 }}
          />
          <Segmented<RangeId>
            aria-label={t("chart.range")}
            value={range}
            onChange={onRange}
            options={rangeOptions}
          />
          {zoom ? (
            <Button
              onClick={() => {
                setAnchor(Date.now());
                setZoom(null);
              }}
            >
              {t("chart.resetZoom")}
            </Button>
          ) : null}
        </Space>
        <Space wrap>
          <Tag data-testid="telemetry-resolution">{t(`chart.resolution.${drawn}`)}</Tag>
          {following ? <Tag color="processing">{t("chart.live")}</Tag> : null}
          <Typography.Text>
            {t("chart.last")}:{" "}
            <strong
              data-testid="telemetry-last-value"
              data-at={lastAt ?? ""}
              data-count={points.length}
            >
              {last ? `${format.number(last.value, { maximumFractionDigits: 3 })} ${unit}` : "—"}
            </strong>
          </Typography.Text>
        </Space>
      </Space>
      <QueryState
        fetching={fetching && points.length === 0}
        error={error}
        hasData={points.length > 0 || (!fetching && !error && !!series)}
        rows={6}
      >
        <EChart
          option={option}
          onReady={onReady}
          label={t("chart.label", { metric, range: t(`chart.ranges.${range}`) })}
          style={{ height: 360 }}
        />
        {points.length === 0 ? (
          <Typography.Paragraph type="secondary" style={{ textAlign: "center" }}>
            {t("chart.noPoints")}
          </Typography.Paragraph>
        ) : null}
      </QueryState>
    </>
  );
}
