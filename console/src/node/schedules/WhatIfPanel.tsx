import {
  Button,
  Card,
  Col,
  Form,
  InputNumber,
  Row,
  Select,
  Space,
  Statistic,
  Tag,
  Typography,
} from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useClient, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { SchedulesListQuery } from "../../gql/node/graphql";
import { CompareSchedulesQuery, InsertRushJobMutation, ScheduleQuery } from "./documents";
import {
  checkJob,
  type FormProblem,
  type JobValues,
  jobInput,
  nextJobId,
  nowMinute,
  type ScenarioColumn,
  scenarioColumns,
} from "./forms";
import { GanttChart } from "./GanttChart";
import { JobFields } from "./JobFields";
import { Problems, scheduleMachines } from "./ScheduleForms";
import { STATUS_COLORS } from "./ScheduleView";

type ListedSchedule = SchedulesListQuery["factorySchedules"]["edges"][number]["node"];

interface ScenarioValues extends JobValues {
  keepPenalty?: number | null;
  freePenalty?: number | null;
}

/** One scenario: its figures (best ones marked) and its Gantt chart. */
function ScenarioCard({ column, span }: { column: ScenarioColumn; span: number }) {
  const { t } = useTranslation("schedules");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({
    query: ScheduleQuery,
    variables: { id: column.id },
  });
  const s = column.summary;
  const best = (metric: string) =>
    column.best.includes(metric) ? <Tag color="success">{t("whatif.best")}</Tag> : null;
  const minutes = (n: number | null | undefined) =>
    n === null || n === undefined ? "—" : t("minutes", { count: n, value: format.number(n) });
  return (
    <Card
      size="small"
      data-testid="scenario"
      title={<h3 style={{ margin: 0, fontSize: 15 }}>{data?.factorySchedule.name ?? s.name}</h3>}
      extra={
        <Tag color={STATUS_COLORS[s.status] ?? "default"}>
          {t(`status.${s.status}`, { defaultValue: s.status })}
        </Tag>
      }
    >
      <Row gutter={[8, 8]}>
        <Col span={12}>
          <Statistic
            title={
              <>
                {t("kpi.makespan")} {best("makespan")}
              </>
            }
            value={minutes(s.makespan)}
          />
        </Col>
        <Col span={12}>
          <Statistic
            title={
              <>
                {t("kpi.weightedLateness")} {best("weighted_lateness")}
              </>
            }
            value={format.number(s.weightedLateness, { maximumFractionDigits: 1 })}
          />
        </Col>
        <Col span={12}>
          <Statistic title={t("kpi.lateJobs")} value={format.number(s.lateJobs.length)} />
        </Col>
        <Col span={12}>
          <Statistic title={t("kpi.changes")} value={format.number(s.changes)} />
        </Col>
      </Row>
      {s.lateJobs.length > 0 ? (
        <Space wrap size={[4, 4]} style={{ marginTop: 8 }}>
          {s.lateJobs.map((job) => (
            <Tag color="error" key={job}>
              {job}
            </Tag>
          ))}
        </Space>
      ) : null}
      <div style={{ marginTop: 12 }}>
        <QueryState fetching={fetching} error={error} hasData={!!data}>
          {data ? (
            <GanttChart
              gantt={data.factorySchedule.gantt}
              title={data.factorySchedule.name}
              compact
              spanMinutes={span}
            />
          ) : null}
        </QueryState>
      </div>
    </Card>
  );
}

/** What-if: compute scenarios (a rush job kept tight to the plan or re-planned freely) and compare them. */
export function WhatIfPanel({
  schedules,
  baselineId,
  compare,
  onCompare,
  canManage,
}: {
  schedules: ListedSchedule[];
  baselineId: string | null;
  compare: string[];
  onCompare: (ids: string[]) => void;
  canManage: boolean;
}) {
  const { t } = useTranslation("schedules");
  const format = useFormat();
  const client = useClient();
  const [form] = Form.useForm<ScenarioValues>();
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [running, setRunning] = useState(false);
  const [failure, setFailure] = useState<Parameters<typeof ErrorNotice>[0]["error"] | null>(null);
  const [baseline] = useQuery({
    query: ScheduleQuery,
    variables: { id: baselineId ?? "" },
    pause: !baselineId,
  });
  const base = baseline.data?.factorySchedule;
  const machines = useMemo(() => (base ? scheduleMachines(base) : []), [base]);
  const existing = useMemo(() => base?.gantt.jobs.map((j) => j.id) ?? [], [base]);
  const [compared] = useQuery({
    query: CompareSchedulesQuery,
    variables: { ids: compare },
    pause: compare.length < 2,
  });
  const columns = useMemo(
    () => (compared.data ? scenarioColumns(compared.data.compareSchedules, compare) : []),
    [compared.data, compare],
  );

  // One time scale for every scenario's chart: the longest makespan.
  const span = Math.max(0, ...columns.map((c) => c.summary.makespan ?? 0));

  const options = schedules.map((s) => ({
    value: s.id,
    label: `${s.name} · ${format.dateTime(s.createdAt)}`,
  }));

  const compute = async (values: ScenarioValues) => {
    if (!base) return;
    const found = checkJob(values, { existing, planStart: base.gantt.start, now: Date.now() });
    setProblems(found);
    setFailure(null);
    if (found.length > 0) return;
    setRunning(true);
    try {
      const job = jobInput(values, base.gantt.start);
      const now = nowMinute(base.gantt.start);
      const made: string[] = [];
      for (const [key, penalty] of [
        ["whatif.keepName", values.keepPenalty ?? 100],
        ["whatif.freeName", values.freePenalty ?? 0],
      ] as const) {
        const answer = await client
          .mutation(InsertRushJobMutation, {
            scheduleId: base.id,
            job,
            now,
            name: t(key, { job: job.id }),
            changePenalty: penalty,
          })
          .toPromise();
        if (answer.error || !answer.data) {
          if (answer.error) setFailure(answer.error);
          return;
        }
        made.push(answer.data.insertRushJob.id);
      }
      onCompare([base.id, ...made]);
    } finally {
      setRunning(false);
    }
  };

  return (
    <>
      {canManage ? (
        <Card
          size="small"
          title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("whatif.computeTitle")}</h3>}
          style={{ marginBottom: 16 }}
        >
          <QueryState fetching={baseline.fetching} error={baseline.error} hasData={!!base}>
            {base ? (
              <Form<ScenarioValues>
                form={form}
                layout="vertical"
                onFinish={compute}
                initialValues={{
                  id: nextJobId(existing),
                  weight: 5,
                  keepPenalty: 100,
                  freePenalty: 0,
                  operations: [{ machines: [], minutes: 60 }],
                }}
                key={base.id}
              >
                <Typography.Paragraph>
                  {t("whatif.computeIntro", { name: base.name })}
                </Typography.Paragraph>
                <JobFields machines={machines} idPrefix="whatif" />
                <Space wrap align="start">
                  <Form.Item
                    label={t("whatif.keepPenalty")}
                    name="keepPenalty"
                    htmlFor="whatif-keep"
                  >
                    <InputNumber id="whatif-keep" min={0} max={10000} />
                  </Form.Item>
                  <Form.Item
                    label={t("whatif.freePenalty")}
                    name="freePenalty"
                    htmlFor="whatif-free"
                  >
                    <InputNumber id="whatif-free" min={0} max={10000} />
                  </Form.Item>
                </Space>
                <Problems problems={problems} />
                {failure ? <ErrorNotice error={failure} /> : null}
                <Form.Item style={{ marginBottom: 0 }}>
                  <Button type="primary" htmlType="submit" loading={running}>
                    {t("whatif.compute")}
                  </Button>
                </Form.Item>
              </Form>
            ) : null}
          </QueryState>
        </Card>
      ) : null}
      <Card
        size="small"
        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("whatif.compareTitle")}</h3>}
      >
        <Form layout="vertical">
          <Form.Item label={t("whatif.pick")} htmlFor="whatif-pick">
            <Select
              id="whatif-pick"
              mode="multiple"
              maxCount={4}
              value={compare}
              options={options}
              onChange={(ids: string[]) => onCompare(ids)}
              optionFilterProp="label"
            />
          </Form.Item>
        </Form>
        {compare.length < 2 ? (
          <Typography.Text type="secondary">{t("whatif.pickMore")}</Typography.Text>
        ) : (
          <QueryState
            fetching={compared.fetching}
            error={compared.error}
            hasData={columns.length > 0}
          >
            <Row gutter={[16, 16]} data-testid="scenarios">
              {columns.map((column) => (
                <Col key={column.id} xs={24} lg={columns.length > 2 ? 8 : 12}>
                  <ScenarioCard column={column} span={span} />
                </Col>
              ))}
            </Row>
          </QueryState>
        )}
      </Card>
    </>
  );
}
