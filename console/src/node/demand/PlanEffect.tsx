import { Descriptions, Empty, Table, Tag, Typography } from "antd";
import { BarChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { changedMoves, type MoveInput, movesChart } from "./shaping";

use([BarChart]);

export interface EffectInput {
  firstPlan: boolean;
  unitsBefore: number;
  unitsAfter: number;
  keptFrozen: number;
  moves: readonly MoveInput[];
}

/** What a plan moved against the proposals open before it: units a week before and after,
 * and each SKU and week that changed. */
export function PlanEffect({ effect }: { effect: EffectInput }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const chart = useMemo(() => movesChart(effect.moves), [effect.moves]);
  const changed = useMemo(() => changedMoves(effect.moves), [effect.moves]);
  const option = useMemo(
    () => ({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 40, bottom: 40 },
      xAxis: { type: "category", data: chart.weeks.map((w) => format.date(w)) },
      yAxis: { type: "value", name: t("plan.units") },
      series: [
        {
          name: t("plan.before"),
          type: "bar",
          data: chart.before,
          itemStyle: { color: "#bfbfbf" },
        },
        { name: t("plan.after"), type: "bar", data: chart.after, itemStyle: { color: "#1677ff" } },
      ],
    }),
    [chart, format, t],
  );
  return (
    <div data-testid="plan-effect">
      <Descriptions
        size="small"
        column={{ xs: 1, md: 3 }}
        items={[
          {
            key: "units",
            label: t("plan.unitsProposed"),
            children: effect.firstPlan
              ? format.number(effect.unitsAfter)
              : t("plan.beforeAfter", {
                  before: format.number(effect.unitsBefore),
                  after: format.number(effect.unitsAfter),
                }),
          },
          {
            key: "frozen",
            label: t("plan.keptFrozen"),
            children: format.number(effect.keptFrozen),
          },
          { key: "moved", label: t("plan.changed"), children: format.number(changed.length) },
        ]}
      />
      {effect.firstPlan ? (
        <Typography.Paragraph type="secondary">{t("plan.firstPlan")}</Typography.Paragraph>
      ) : chart.weeks.length === 0 ? (
        <Empty description={t("plan.nothingMoved")} />
      ) : (
        <>
          <EChart
            option={option}
            label={t("plan.chartLabel", { weeks: chart.weeks.length })}
            style={{ height: 280 }}
          />
          <Table<MoveInput>
            data-testid="plan-moves"
            rowKey={(m) => `${m.sku}-${m.week}`}
            size="small"
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            dataSource={changed}
            locale={{ emptyText: t("plan.nothingMoved") }}
            columns={[
              { title: t("plan.sku"), dataIndex: "sku" },
              { title: t("plan.week"), dataIndex: "week", render: (v: string) => format.date(v) },
              { title: t("plan.before"), dataIndex: "before", align: "right" },
              { title: t("plan.after"), dataIndex: "after", align: "right" },
              {
                title: t("plan.change"),
                key: "change",
                align: "right",
                render: (_: unknown, m) => {
                  const change = m.after - m.before;
                  return (
                    <Tag color={change > 0 ? "success" : "warning"}>
                      {change > 0 ? "+" : ""}
                      {format.number(change)}
                    </Tag>
                  );
                },
              },
            ]}
          />
        </>
      )}
    </div>
  );
}
