import { Card, Col, Descriptions, Row, Statistic, Table, Tag } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";
import type { ScheduleFieldsFragment } from "../../gql/node/graphql";
import { GanttChart } from "./GanttChart";
import { type GanttBar, ganttSummary, shapeGantt } from "./gantt";

export const STATUS_COLORS: Record<string, string> = {
  optimal: "success",
  feasible: "processing",
  infeasible: "error",
  unknown: "default",
};

/** One schedule: its figures, its Gantt chart and its operations as a table. */
export function ScheduleView({ schedule }: { schedule: ScheduleFieldsFragment }) {
  const { t } = useTranslation("schedules");
  const format = useFormat();
  const summary = useMemo(() => ganttSummary(schedule.gantt), [schedule.gantt]);
  const model = useMemo(() => shapeGantt(schedule.gantt), [schedule.gantt]);
  const moved = useMemo(
    () => new Set(schedule.plan.changed.map((c) => `${c.job}#${c.operation}`)),
    [schedule.plan.changed],
  );
  const tasks = useMemo(() => [...model.bars].sort((a, b) => a.start - b.start), [model]);
  const minutes = (n: number | null | undefined) =>
    n === null || n === undefined ? "—" : t("minutes", { count: n, value: format.number(n) });

  return (
    <>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t("kpi.makespan")} value={minutes(schedule.makespan)} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic
              title={t("kpi.weightedLateness")}
              value={format.number(schedule.weightedLateness, { maximumFractionDigits: 1 })}
            />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic
              title={t("kpi.lateJobs")}
              value={`${format.number(summary.lateJobs)} / ${format.number(summary.jobs)}`}
            />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t("kpi.operations")} value={format.number(summary.operations)} />
          </Card>
        </Col>
      </Row>
      <Descriptions size="small" column={{ xs: 1, md: 3 }} style={{ marginTop: 16 }}>
        <Descriptions.Item label={t("schedule.status")}>
          <Tag color={STATUS_COLORS[schedule.status] ?? "default"} data-testid="schedule-status">
            {t(`status.${schedule.status}`, { defaultValue: schedule.status })}
          </Tag>
        </Descriptions.Item>
        <Descriptions.Item label={t("schedule.start")}>
          {format.dateTime(schedule.gantt.start)}
        </Descriptions.Item>
        <Descriptions.Item label={t("schedule.createdBy")}>
          {schedule.createdBy} · {format.dateTime(schedule.createdAt)}
        </Descriptions.Item>
        {schedule.plan.changed.length > 0 ? (
          <Descriptions.Item label={t("schedule.moved")}>
            {format.number(schedule.plan.changed.length)}
          </Descriptions.Item>
        ) : null}
      </Descriptions>
      <Card
        size="small"
        style={{ marginTop: 16 }}
        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("gantt.title")}</h3>}
      >
        <GanttChart gantt={schedule.gantt} title={schedule.name} />
      </Card>
      {schedule.plan.skipped.length > 0 ? (
        <Card size="small" style={{ marginTop: 16 }} title={t("schedule.skipped")}>
          <ul style={{ margin: 0 }}>
            {schedule.plan.skipped.map((s) => (
              <li key={`${s.workOrderId}-${s.step}`}>
                {s.step} · {format.number(s.units)} · {s.reason}
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      <Card
        size="small"
        style={{ marginTop: 16 }}
        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("tasks.title")}</h3>}
      >
        <Table<GanttBar>
          size="small"
          rowKey={(bar) => `${bar.job}#${bar.operation}`}
          dataSource={tasks}
          pagination={tasks.length > 10 ? { pageSize: 10 } : false}
          data-testid="schedule-tasks"
          columns={[
            {
              title: t("gantt.job"),
              dataIndex: "job",
              render: (job: string, bar) => (
                <span>
                  <span
                    aria-hidden
                    style={{
                      display: "inline-block",
                      width: 10,
                      height: 10,
                      marginInlineEnd: 6,
                      background: bar.color,
                      borderRadius: 2,
                    }}
                  />
                  {job}
                </span>
              ),
            },
            { title: t("gantt.operation"), dataIndex: "operation", render: (n: number) => n + 1 },
            { title: t("gantt.machine"), dataIndex: "machine" },
            {
              title: t("gantt.start"),
              dataIndex: "start",
              render: (ms: number) => format.dateTime(ms),
            },
            {
              title: t("gantt.end"),
              dataIndex: "end",
              render: (ms: number) => format.dateTime(ms),
            },
            {
              title: t("tasks.state"),
              key: "state",
              render: (_: unknown, bar) => (
                <>
                  {bar.late ? <Tag color="error">{t("gantt.late")}</Tag> : null}
                  {moved.has(`${bar.job}#${bar.operation}`) ? (
                    <Tag color="warning">{t("tasks.moved")}</Tag>
                  ) : null}
                </>
              ),
            },
          ]}
        />
      </Card>
    </>
  );
}
