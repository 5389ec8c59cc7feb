import { LineChart, ScatterChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { bandChart, type PointInput } from "./shaping";

use([LineChart, ScatterChart]);

/** One series' forecast: its mean, the 90% interval as a band, and the actuals come in. */
export function ForecastChart({ name, points }: { name: string; points: readonly PointInput[] }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const chart = useMemo(() => bandChart(points), [points]);
  const option = useMemo(
    () => ({
      tooltip: {
        trigger: "axis",
        // The band's own values are a width: the tooltip says the interval's two ends.
        formatter: (items: { dataIndex: number }[]) => {
          const i = items[0]?.dataIndex ?? 0;
          const actual = chart.actual[i];
          return [
            format.date(chart.weeks[i]),
            `${t("chart.mean")}: ${format.number(chart.mean[i])}`,
            `${t("chart.interval")}: ${format.number(chart.lower[i])} – ${format.number(chart.upper[i])}`,
            `${t("chart.actual")}: ${actual === null || actual === undefined ? "—" : format.number(actual)}`,
          ].join("<br/>");
        },
      },
      legend: { top: 0, data: [t("chart.mean"), t("chart.interval"), t("chart.actual")] },
      grid: { left: 64, right: 24, top: 48, bottom: 40 },
      xAxis: {
        type: "category",
        boundaryGap: false,
        data: chart.weeks.map((week) => format.date(week)),
      },
      yAxis: { type: "value", name: t("chart.units") },
      series: [
        {
          // The band: its lower end (not drawn), and the width stacked on it, filled.
          name: "lower",
          type: "line",
          stack: "interval",
          data: chart.lower,
          lineStyle: { opacity: 0 },
          symbol: "none",
          tooltip: { show: false },
        },
        {
          name: t("chart.interval"),
          type: "line",
          stack: "interval",
          data: chart.width,
          lineStyle: { opacity: 0 },
          areaStyle: { opacity: 0.25, color: "#1677ff" },
          itemStyle: { color: "#91caff" },
          symbol: "none",
        },
        {
          name: t("chart.mean"),
          type: "line",
          data: chart.mean,
          itemStyle: { color: "#1677ff" },
          symbolSize: 6,
        },
        {
          name: t("chart.actual"),
          type: "line",
          data: chart.actual,
          connectNulls: false,
          itemStyle: { color: "#d4380d" },
          lineStyle: { type: "dashed" },
          symbolSize: 8,
        },
      ],
    }),
    [chart, format, t],
  );
  return (
    <div data-testid="forecast-chart" data-weeks={chart.weeks.length} data-actuals={chart.actuals}>
      <EChart
        option={option}
        label={t("chart.label", {
          name,
          weeks: chart.weeks.length,
          actuals: chart.actuals,
          inside: chart.inside,
        })}
        style={{ height: 360 }}
      />
    </div>
  );
}
