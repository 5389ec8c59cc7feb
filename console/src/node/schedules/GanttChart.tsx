import { Space, Tag, Typography } from "antd";
import { CustomChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { type GanttData, shapeGantt } from "./gantt";
import { ganttOption } from "./ganttOption";

use([CustomChart]);

/** A schedule's Gantt chart: machines as rows, operations as bars coloured by job, due dates as markers. */
export function GanttChart({
  gantt,
  title,
  compact = false,
  spanMinutes = 0,
}: {
  gantt: GanttData;
  title: string;
  compact?: boolean;
  /** At least this many minutes on the time axis (one scale for charts side by side). */
  spanMinutes?: number;
}) {
  const { t } = useTranslation("schedules");
  const format = useFormat();
  const model = useMemo(() => {
    const shaped = shapeGantt(gantt);
    return { ...shaped, to: Math.max(shaped.to, shaped.from + spanMinutes * 60_000) };
  }, [gantt, spanMinutes]);
  const option = useMemo(() => {
    const clock = new Intl.DateTimeFormat(format.locale, {
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });
    return ganttOption(model, gantt.start, {
      job: t("gantt.job"),
      operation: t("gantt.operation"),
      machine: t("gantt.machine"),
      start: t("gantt.start"),
      end: t("gantt.end"),
      due: t("gantt.due"),
      setup: t("gantt.setup"),
      late: t("gantt.late"),
      unavailable: t("gantt.unavailable"),
      dateTime: (ms) => format.dateTime(ms),
      axisTime: (ms) => clock.format(ms),
      minutes: (n) => t("minutes", { count: n, value: format.number(n) }),
      windowKind: (kind) => t(`gantt.window.${kind}`, { defaultValue: kind }),
    });
  }, [model, gantt.start, t, format]);
  const height = Math.max(compact ? 220 : 280, 90 + model.rows.length * (compact ? 36 : 48));
  return (
    <div data-testid="gantt" data-bars={model.bars.length} data-jobs={model.jobs.length}>
      <EChart
        option={option}
        label={t("gantt.label", {
          name: title,
          bars: model.bars.length,
          machines: model.rows.length,
        })}
        style={{ height }}
      />
      <Space wrap size={[4, 4]} style={{ marginTop: 8 }}>
        <Typography.Text type="secondary">{t("gantt.lateJobs")}</Typography.Text>
        {model.lateJobs.length === 0 ? (
          <Tag color="success">{t("gantt.noneLate")}</Tag>
        ) : (
          model.lateJobs.map((late) => (
            <Tag color="error" key={late.job} data-testid="late-job">
              {late.job} ·{" "}
              {t("minutes", { count: late.minutes, value: format.number(late.minutes) })}
            </Tag>
          ))
        )}
      </Space>
    </div>
  );
}
