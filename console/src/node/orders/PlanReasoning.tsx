import {
  Col,
  Collapse,
  Descriptions,
  List,
  Row,
  Statistic,
  Table,
  Tabs,
  Tag,
  Typography,
} from "antd";
import { LineChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import type { OrderReasoningQuery } from "../../gql/node/graphql";
import { beforeAfterChart } from "./shaping";

use([LineChart]);

type Plan = NonNullable<OrderReasoningQuery["order"]["plan"]>;
type Reasoning = Plan["reasoning"];
type Effect = NonNullable<Plan["replanEffect"]>;

const PAGE = 8;

/** Why the plan is what it is: the headline, each step's factories, binding hours, risk. */
export function PlanReasoning({
  reasoning,
  factoryName,
}: {
  reasoning: Reasoning;
  factoryName: (slug: string) => string;
}) {
  const { t } = useTranslation("orders");
  const format = useFormat();
  const pagination = (rows: number) =>
    rows > PAGE ? { pageSize: PAGE, hideOnSinglePage: true, showSizeChanger: false } : false;

  const summary = (
    <>
      <Row gutter={[16, 16]} style={{ marginBottom: 8 }}>
        <Col xs={12} md={6}>
          <Statistic title={t("reasoning.made")} value={format.number(reasoning.madeQuantity)} />
        </Col>
        <Col xs={12} md={6}>
          <Statistic
            title={t("reasoning.max")}
            value={
              reasoning.maxQuantity === null || reasoning.maxQuantity === undefined
                ? t("reasoning.unbounded")
                : format.number(reasoning.maxQuantity)
            }
          />
        </Col>
        <Col xs={12} md={6}>
          <Statistic
            title={t("reasoning.bindingCount")}
            value={format.number(reasoning.capacityBindings.length)}
          />
        </Col>
        <Col xs={12} md={6}>
          <Statistic
            title={t("reasoning.riskCount")}
            value={format.number(reasoning.risk.length)}
          />
        </Col>
      </Row>
      <List
        size="small"
        dataSource={reasoning.summary}
        pagination={
          reasoning.summary.length > PAGE
            ? { pageSize: PAGE, size: "small", align: "start" }
            : false
        }
        renderItem={(line) => <List.Item>{line}</List.Item>}
      />
      {reasoning.targetShortfall.length > 0 || reasoning.missing.length > 0 ? (
        <Descriptions size="small" column={1} style={{ marginTop: 16 }}>
          {reasoning.targetShortfall.length > 0 ? (
            <Descriptions.Item label={t("reasoning.targetShortfall")}>
              {reasoning.targetShortfall
                .map((d) => `${format.date(d.day)}: ${format.number(d.units)}`)
                .join("; ")}
            </Descriptions.Item>
          ) : null}
          {reasoning.missing.length > 0 ? (
            <Descriptions.Item label={t("reasoning.missing")}>
              {reasoning.missing.map((m) => `${m.step}: ${format.number(m.units)}`).join("; ")}
            </Descriptions.Item>
          ) : null}
        </Descriptions>
      ) : null}
    </>
  );

  const steps = (
    <Collapse
      size="small"
      items={reasoning.steps.map((step) => ({
        key: step.step,
        label: (
          <span>
            <Typography.Text strong>{step.step}</Typography.Text>{" "}
            <Typography.Text type="secondary">
              {t("reasoning.stepUnits", {
                made: format.number(step.madeUnits),
                required: format.number(step.requiredUnits),
                used: step.used.length,
                eligible: step.eligibleFactories,
              })}
            </Typography.Text>
          </span>
        ),
        children: (
          <>
            <Table
              size="small"
              pagination={false}
              rowKey={(u) => `${u.factory}/${u.process}`}
              dataSource={[...step.used]}
              scroll={{ x: 800 }}
              columns={[
                {
                  title: t("reasoning.factory"),
                  key: "factory",
                  render: (_, u) => factoryName(u.factory),
                },
                { title: t("reasoning.process"), dataIndex: "process" },
                {
                  title: t("reasoning.units"),
                  dataIndex: "units",
                  align: "right",
                  render: (v: number) => format.number(v),
                },
                {
                  title: t("reasoning.share"),
                  dataIndex: "share",
                  align: "right",
                  render: (v: number) => format.number(v, { style: "percent" }),
                },
                { title: t("reasoning.costRank"), dataIndex: "costRank", align: "right" },
                { title: t("reasoning.why"), dataIndex: "reason" },
              ]}
            />
            {step.unused.length > 0 ? (
              <List
                size="small"
                header={<Typography.Text strong>{t("reasoning.unused")}</Typography.Text>}
                dataSource={[...step.unused]}
                renderItem={(u) => (
                  <List.Item>
                    {factoryName(u.factory)} ({u.process}): {u.reason}
                  </List.Item>
                )}
              />
            ) : null}
          </>
        ),
      }))}
    />
  );

  const bindings = (
    <Table
      size="small"
      pagination={pagination(reasoning.capacityBindings.length)}
      rowKey={(b) => `${b.factory}/${b.process}`}
      dataSource={[...reasoning.capacityBindings]}
      locale={{ emptyText: t("reasoning.noBindings") }}
      columns={[
        { title: t("reasoning.factory"), key: "factory", render: (_, b) => factoryName(b.factory) },
        { title: t("reasoning.process"), dataIndex: "process" },
        {
          title: t("reasoning.fullDays"),
          key: "full",
          render: (_, b) =>
            t("reasoning.fullOf", { full: b.fullDays.length, available: b.daysAvailable }),
        },
        { title: t("reasoning.forSteps"), key: "steps", render: (_, b) => b.steps.join(", ") },
      ]}
    />
  );

  const risk = (
    <Table
      size="small"
      pagination={pagination(reasoning.risk.length)}
      rowKey={(r) => `${r.step}/${r.factory}/${r.process}`}
      dataSource={[...reasoning.risk]}
      locale={{ emptyText: t("reasoning.noRisk") }}
      columns={[
        { title: t("reasoning.step"), dataIndex: "step" },
        { title: t("reasoning.factory"), key: "factory", render: (_, r) => factoryName(r.factory) },
        { title: t("reasoning.process"), dataIndex: "process" },
        {
          title: t("reasoning.dailyNeed"),
          dataIndex: "dailyNeed",
          align: "right",
          render: (v: number | null) => format.number(v),
        },
        {
          title: t("reasoning.capacityLeft"),
          dataIndex: "capacityLeftPerDay",
          align: "right",
          render: (v: number | null) => format.number(v),
        },
        {
          title: t("reasoning.shortfall"),
          dataIndex: "shortfallPerDay",
          align: "right",
          render: (v: number | null) =>
            v ? <Tag color="warning">{format.number(v)}</Tag> : format.number(v),
        },
      ]}
    />
  );

  return (
    <div data-testid="plan-reasoning">
      <Tabs
        items={[
          { key: "summary", label: t("reasoning.summary"), children: summary },
          {
            key: "steps",
            label: t("reasoning.stepsTab", { count: reasoning.steps.length }),
            children: steps,
          },
          {
            key: "bindings",
            label: t("reasoning.bindingsTab", { count: reasoning.capacityBindings.length }),
            children: (
              <>
                <Typography.Paragraph type="secondary">
                  {t("reasoning.bindings")}
                </Typography.Paragraph>
                {bindings}
              </>
            ),
          },
          {
            key: "risk",
            label: t("reasoning.riskTab", { count: reasoning.risk.length }),
            children: (
              <>
                <Typography.Paragraph type="secondary">{t("reasoning.risk")}</Typography.Paragraph>
                {risk}
              </>
            ),
          },
        ]}
      />
    </div>
  );
}

/** A re-plan's effect: finished products a day before and after, and the units moved. */
export function ReplanEffectView({
  effect,
  factoryName,
}: {
  effect: Effect;
  factoryName: (slug: string) => string;
}) {
  const { t } = useTranslation("orders");
  const format = useFormat();
  const chart = useMemo(
    () => beforeAfterChart(effect.outputBefore, effect.outputAfter),
    [effect.outputBefore, effect.outputAfter],
  );
  const option = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 40, bottom: 40 },
      xAxis: { type: "category", data: chart.days.map((day) => format.date(day)) },
      yAxis: { type: "value", name: t("plan.units") },
      series: [
        {
          name: t("replan.before"),
          type: "line",
          step: "middle",
          showSymbol: false,
          lineStyle: { type: "dashed", width: 3 },
          data: chart.before,
        },
        {
          name: t("replan.after"),
          type: "line",
          step: "middle",
          showSymbol: false,
          lineStyle: { width: 2 },
          data: chart.after,
        },
      ],
    }),
    [chart, format, t],
  );
  return (
    <div data-testid="replan-effect">
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}>
          <Statistic title={t("replan.asOf")} value={format.date(effect.asOf)} />
        </Col>
        <Col xs={12} md={6}>
          <Statistic title={t("replan.moved")} value={format.number(effect.unitsMoved)} />
        </Col>
        <Col xs={12} md={6}>
          <Statistic
            title={t("replan.missedDays")}
            value={format.number(effect.missedDays.length)}
          />
        </Col>
        <Col xs={12} md={6}>
          <Statistic
            title={t("replan.newlyMissed")}
            value={format.number(effect.newlyMissed.length)}
          />
        </Col>
      </Row>
      <EChart
        option={option}
        label={t("replan.chartLabel", { days: chart.days.length })}
        style={{ height: 300, marginTop: 16 }}
      />
      <Table
        size="small"
        rowKey={(c) => `${c.step}/${c.factory}/${c.process}`}
        dataSource={[...effect.changes]}
        pagination={
          effect.changes.length > PAGE ? { pageSize: PAGE, showSizeChanger: false } : false
        }
        locale={{ emptyText: t("replan.noChanges") }}
        columns={[
          { title: t("reasoning.step"), dataIndex: "step" },
          {
            title: t("reasoning.factory"),
            key: "factory",
            render: (_, c) => factoryName(c.factory),
          },
          { title: t("reasoning.process"), dataIndex: "process" },
          {
            title: t("replan.added"),
            dataIndex: "added",
            align: "right",
            render: (v: number) => format.number(v),
          },
          {
            title: t("replan.removed"),
            dataIndex: "removed",
            align: "right",
            render: (v: number) => format.number(v),
          },
        ]}
      />
    </div>
  );
}
