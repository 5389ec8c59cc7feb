import { Empty, Select, Space, Typography } from "antd";
import { BarChart } from "echarts/charts";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { type AllocationInput, allocationSteps, factoryDayChart } from "./shaping";

use([BarChart]);

const ALL = "__all__";

/** The allocation plan: units per factory and day, stacked, for one routing step or all. */
export function AllocationChart({ allocations }: { allocations: readonly AllocationInput[] }) {
  const { t } = useTranslation("orders");
  const format = useFormat();
  const steps = useMemo(() => allocationSteps(allocations), [allocations]);
  const [step, setStep] = useState<string>(ALL);
  const chosen = step !== ALL && steps.includes(step) ? step : null;
  const chart = useMemo(() => factoryDayChart(allocations, chosen), [allocations, chosen]);
  const option = useMemo(
    () => ({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { type: "scroll", top: 0 },
      grid: { left: 64, right: 24, top: 64, bottom: 64 },
      dataZoom: chart.days.length > 31 ? [{ type: "slider", bottom: 8 }] : [],
      xAxis: {
        type: "category",
        data: chart.days.map((day) => format.date(day)),
      },
      yAxis: { type: "value", name: t("plan.units") },
      series: chart.series.map((s) => ({
        name: s.name,
        type: "bar",
        stack: "units",
        emphasis: { focus: "series" },
        data: s.data,
      })),
    }),
    [chart, format, t],
  );
  if (allocations.length === 0) return <Empty description={t("plan.noAllocations")} />;
  return (
    <>
      <Space wrap style={{ marginBottom: 8 }}>
        <Typography.Text id="allocation-step-label">{t("plan.step")}</Typography.Text>
        <Select
          aria-labelledby="allocation-step-label"
          value={chosen ?? ALL}
          onChange={(value: string) => setStep(value)}
          style={{ minWidth: 200 }}
          options={[
            { value: ALL, label: t("plan.allSteps") },
            ...steps.map((s) => ({ value: s, label: s })),
          ]}
        />
        <Typography.Text type="secondary">
          {t("plan.total", { units: format.number(chart.total) })}
        </Typography.Text>
      </Space>
      <div data-testid="allocation-chart" data-series={chart.series.length}>
        <EChart
          option={option}
          label={t("plan.chartLabel", {
            factories: chart.series.length,
            days: chart.days.length,
          })}
          style={{ height: 360 }}
        />
      </div>
    </>
  );
}
