import { EditOutlined, LeftOutlined, RightOutlined } from "@ant-design/icons";
import { Alert, Button, Flex, Segmented, Select, Space, Typography } from "antd";
import { HeatmapChart } from "echarts/charts";
import { VisualMapContinuousComponent } from "echarts/components";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { EChart, type EChartsCoreOption, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { CapacityEditor } from "./CapacityEditor";
import {
  addDays,
  CAPACITY_MEASURES,
  type CapacityMeasure,
  defaultMeasure,
  isIsoDay,
  localToday,
  shapeCapacity,
} from "./capacity";

use([HeatmapChart, VisualMapContinuousComponent]);

const FactoryCapacity = graphql(`
  query FactoryCapacity($id: UUID!, $start: Date!, $end: Date!) {
    factory(id: $id) {
      id
      capacity(start: $start, end: $end) {
        process
        day
        availableHours
        availableUnits
        downtimeHours
        hourlyRate
        note
      }
    }
  }
`);

const SPANS = [14, 28, 56];
const COLORS: Record<CapacityMeasure, string[]> = {
  availableHours: ["#e6f4ff", "#69b1ff", "#0958d9", "#002c8c"],
  availableUnits: ["#f6ffed", "#95de64", "#389e0d", "#135200"],
  downtimeHours: ["#fff1f0", "#ff9c6e", "#d4380d", "#820014"],
  hourlyRate: ["#f9f0ff", "#b37feb", "#531dab", "#22075e"],
};

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}

function isMeasure(value: string | null): value is CapacityMeasure {
  return CAPACITY_MEASURES.includes(value as CapacityMeasure);
}

/** The capacity calendar (process x day) of one factory, period and measure in the URL. */
export function CapacityCalendar({ factoryId, canEdit }: { factoryId: string; canEdit: boolean }) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const fromParam = params.get("from");
  const start = isIsoDay(fromParam) ? fromParam : localToday();
  const spanParam = Number(params.get("span"));
  const span = SPANS.includes(spanParam) ? spanParam : 28;
  const measureParam = params.get("measure");

  const [editing, setEditing] = useState(false);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: FactoryCapacity,
    variables: { id: factoryId, start, end: addDays(start, span - 1) },
  });
  const entries = data?.factory.capacity;
  const measure: CapacityMeasure = isMeasure(measureParam)
    ? measureParam
    : defaultMeasure(entries ?? []);

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace: true });
  };

  const map = useMemo(
    () => shapeCapacity(entries ?? [], start, span, measure),
    [entries, start, span, measure],
  );

  const option = useMemo<EChartsCoreOption>(() => {
    const dayLabel = new Intl.DateTimeFormat(format.locale, {
      month: "numeric",
      day: "numeric",
      weekday: "short",
      timeZone: "UTC",
    });
    const longDay = new Intl.DateTimeFormat(format.locale, {
      dateStyle: "full",
      timeZone: "UTC",
    });
    const asDate = (day: string) => new Date(`${day}T00:00:00Z`);
    const unit = t(`capacity.units.${measure}`);
    return {
      tooltip: {
        position: "top",
        formatter: (item: { data: { value: [number, number, number]; note: string | null } }) => {
          const [x, y, value] = item.data.value;
          const day = map.days[x] ?? "";
          const lines = [
            `<strong>${escapeHtml(map.processes[y] ?? "")}</strong>`,
            escapeHtml(longDay.format(asDate(day))),
            `${escapeHtml(t(`capacity.measures.${measure}`))}: ${escapeHtml(format.number(value))} ${escapeHtml(unit)}`,
          ];
          if (item.data.note) lines.push(escapeHtml(item.data.note));
          return lines.join("<br/>");
        },
      },
      grid: { top: 8, left: 8, right: 16, bottom: 84, containLabel: true },
      xAxis: {
        type: "category",
        data: map.days.map((day) => dayLabel.format(asDate(day))),
        splitArea: { show: true },
        axisLabel: { interval: span > 28 ? 6 : span > 14 ? 1 : 0, color: "#595959" },
      },
      yAxis: {
        type: "category",
        data: map.processes,
        splitArea: { show: true },
        axisLabel: { color: "#262626" },
      },
      visualMap: {
        type: "continuous",
        // From zero: a day's capacity reads against none, not against the period's least.
        min: Math.min(0, map.min),
        max: map.max > Math.min(0, map.min) ? map.max : 1,
        calculable: true,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        text: [format.number(map.max), format.number(Math.min(0, map.min))],
        inRange: { color: COLORS[measure] },
        formatter: (value: number) => format.number(value, { maximumFractionDigits: 1 }),
      },
      series: [
        {
          type: "heatmap",
          name: t(`capacity.measures.${measure}`),
          data: map.cells.map((cell) => ({ value: cell.value, note: cell.note })),
          label: {
            show: span <= 14,
            formatter: (item: { value: [number, number, number] }) =>
              format.number(item.value[2], { maximumFractionDigits: 0 }),
          },
          emphasis: { itemStyle: { borderColor: "#000", borderWidth: 1 } },
        },
      ],
    };
  }, [map, measure, span, format, t]);

  const end = addDays(start, span - 1);
  return (
    <>
      <Flex wrap gap={12} justify="space-between" align="center" style={{ marginBottom: 12 }}>
        <Space wrap>
          <Button
            icon={<LeftOutlined />}
            aria-label={t("capacity.earlier")}
            onClick={() => set({ from: addDays(start, -span) })}
          />
          <Typography.Text data-testid="capacity-period">
            {t("capacity.period", {
              from: format.date(`${start}T00:00:00`),
              to: format.date(`${end}T00:00:00`),
            })}
          </Typography.Text>
          <Button
            icon={<RightOutlined />}
            aria-label={t("capacity.later")}
            onClick={() => set({ from: addDays(start, span) })}
          />
          <Button onClick={() => set({ from: null })}>{t("capacity.today")}</Button>
        </Space>
        <Space wrap>
          <Segmented
            aria-label={t("capacity.span")}
            value={span}
            onChange={(value) => set({ span: String(value) })}
            options={SPANS.map((value) => ({ value, label: t("capacity.days", { count: value }) }))}
          />
          <Select
            aria-label={t("capacity.measure")}
            value={measure}
            onChange={(value: CapacityMeasure) => set({ measure: value })}
            options={CAPACITY_MEASURES.map((value) => ({
              value,
              label: t(`capacity.measures.${value}`),
            }))}
            style={{ width: 180 }}
          />
          {canEdit ? (
            <Button icon={<EditOutlined />} onClick={() => setEditing(true)}>
              {t("capacityEdit.button")}
            </Button>
          ) : null}
        </Space>
      </Flex>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={map.processes.length > 0}
        empty={t("capacity.empty")}
      >
        {map.cells.length === 0 ? (
          <Alert type="info" showIcon title={t("capacity.noMeasure")} />
        ) : (
          <div data-testid="capacity-heatmap">
            <EChart
              option={option}
              label={t("capacity.chartLabel", { count: map.processes.length, days: span })}
              style={{ height: Math.max(220, map.processes.length * 36 + 110) }}
            />
          </div>
        )}
        {map.withoutMeasure > 0 && map.cells.length > 0 ? (
          <Typography.Text type="secondary">
            {t("capacity.withoutMeasure", { count: map.withoutMeasure })}
          </Typography.Text>
        ) : null}
      </QueryState>
      {canEdit ? (
        <CapacityEditor
          factoryId={factoryId}
          start={start}
          processes={map.processes}
          open={editing}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            refetch({ requestPolicy: "network-only" });
          }}
        />
      ) : null}
    </>
  );
}
