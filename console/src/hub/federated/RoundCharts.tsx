import { Col, Row, Typography } from "antd";
import { LineChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { EChart, type EChartsCoreOption, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import type { FederatedRunFieldsFragment } from "../../gql/hub/graphql";
import { aggregatedSeries, CHART_METRICS, metricSeries } from "./shaping";

use([LineChart]);

type PerRound = NonNullable<FederatedRunFieldsFragment["summary"]>["perRound"];

/** One line chart per metric: a line per node, round by round, and the weighted mean. */
export function RoundCharts({ perRound, rounds }: { perRound: PerRound; rounds: number }) {
  const { t } = useTranslation("federated");
  const charts = CHART_METRICS.map((metric) => ({
    metric,
    nodes: metricSeries(perRound, metric, rounds),
  })).filter((chart) => chart.nodes.length > 0);
  if (charts.length === 0) {
    return <Typography.Text type="secondary">{t("run.noMetrics")}</Typography.Text>;
  }
  return (
    <Row gutter={[16, 16]}>
      {charts.map((chart) => (
        <Col key={chart.metric} xs={24} xl={12}>
          <MetricChart metric={chart.metric} perRound={perRound} rounds={rounds} />
        </Col>
      ))}
    </Row>
  );
}

function MetricChart({
  metric,
  perRound,
  rounds,
}: {
  metric: string;
  perRound: PerRound;
  rounds: number;
}) {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const title = t(`metrics.${metric}`, { defaultValue: metric });
  const nodes = useMemo(() => metricSeries(perRound, metric, rounds), [perRound, metric, rounds]);
  const mean = useMemo(
    () => aggregatedSeries(perRound, metric, rounds),
    [perRound, metric, rounds],
  );
  const counts = metric.endsWith("_examples");
  const option = useMemo<EChartsCoreOption>(() => {
    const categories = Array.from({ length: Math.max(rounds, mean.length) }, (_, i) =>
      String(i + 1),
    );
    const series: object[] = nodes.map((node) => ({
      type: "line",
      name: node.name,
      data: node.values,
      connectNulls: true,
      symbolSize: 7,
    }));
    if (!counts) {
      series.push({
        type: "line",
        name: t("run.allNodes"),
        data: mean,
        connectNulls: true,
        lineStyle: { type: "dashed", width: 2 },
        symbol: "diamond",
        symbolSize: 8,
      });
    }
    return {
      title: { text: title, left: 0, textStyle: { fontSize: 14 } },
      tooltip: {
        trigger: "axis",
        valueFormatter: (value: unknown) =>
          typeof value === "number" ? format.number(value, { maximumFractionDigits: 4 }) : "—",
      },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 56, right: 16, top: 40, bottom: 72 },
      xAxis: {
        type: "category",
        data: categories,
        name: t("fields.round"),
        nameLocation: "middle",
        nameGap: 28,
      },
      yAxis: { type: "value", scale: true },
      series,
    };
  }, [nodes, mean, rounds, title, counts, t, format]);
  return (
    <EChart
      option={option}
      style={{ height: 280 }}
      label={t("run.chartLabel", {
        metric: title,
        nodes: nodes.map((n) => n.name).join(", "),
      })}
    />
  );
}
