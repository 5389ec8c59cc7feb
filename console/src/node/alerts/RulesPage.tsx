import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Drawer,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Space,
  Table,
  Tag,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { describeError, QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { AlertRulesQuery } from "../../gql/node/graphql";
import { InboxFactories } from "./AlertsInboxPage";
import { AlertsNav, SEVERITY_COLORS } from "./AlertsNav";
import { SEVERITIES } from "./filters";
import { RULE_KINDS, type RuleDraft, toRuleInput, validateRule } from "./ruleValidation";

const RulesQuery = graphql(`
  query AlertRules($factoryId: UUID) {
    alertRules(factoryId: $factoryId, first: 100) {
      totalCount
      edges {
        node {
          id
          name
          kind
          severity
          metric
          deviceId
          deviceType
          factoryId
          above
          below
          ratePerMin
          staleAfterS
          forS
          clearAbove
          clearBelow
          clearForS
          escalateAbove
          escalateBelow
          escalateAfterS
          escalateTo
          contactPointIds
          silences {
            id
            startsAt
            endsAt
            dailyFrom
            dailyTo
            comment
          }
        }
      }
    }
  }
`);

const DeviceTypes = graphql(`
  query AlertRuleDeviceTypes($factoryId: UUID) {
    deviceTypes(factoryId: $factoryId) {
      type
      metrics {
        name
        unit
      }
    }
  }
`);

const RuleContactPoints = graphql(`
  query AlertRuleContactPoints($factoryId: UUID) {
    contactPoints(factoryId: $factoryId, first: 100) {
      edges {
        node {
          id
          name
          kind
        }
      }
    }
  }
`);

const UpdateRule = graphql(`
  mutation UpdateAlertRule($id: UUID!, $input: AlertRuleInput!) {
    updateAlertRule(id: $id, input: $input) {
      id
      name
    }
  }
`);

const CreateRule = graphql(`
  mutation CreateAlertRule($input: AlertRuleInput!) {
    createAlertRule(input: $input) {
      id
      name
    }
  }
`);

const RemoveSilence = graphql(`
  mutation RemoveAlertSilence($id: UUID!) {
    removeAlertSilence(id: $id)
  }
`);

type Rule = AlertRulesQuery["alertRules"]["edges"][number]["node"];

/** "> 80 (clears ≤ 75)", "rate > 5/min", "no data for 300 s". */
function useCondition() {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  return (rule: Rule) => {
    const parts: string[] = [];
    if (rule.kind === "THRESHOLD") {
      if (rule.above != null) parts.push(`> ${format.number(rule.above)}`);
      if (rule.below != null) parts.push(`< ${format.number(rule.below)}`);
      if (rule.clearAbove != null)
        parts.push(t("rules.clearsAtOrBelow", { value: format.number(rule.clearAbove) }));
      if (rule.clearBelow != null)
        parts.push(t("rules.clearsAtOrAbove", { value: format.number(rule.clearBelow) }));
    } else if (rule.kind === "RATE_OF_CHANGE") {
      parts.push(t("rules.rate", { value: format.number(rule.ratePerMin) }));
    } else {
      parts.push(t("rules.stale", { value: format.number(rule.staleAfterS) }));
    }
    if (rule.forS > 0) parts.push(t("rules.for", { value: format.number(rule.forS) }));
    return parts.join(" · ");
  };
}

const NODE_WIDE = "node";

export default function RulesPage() {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { can } = useViewer();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const scope = params.get("factory") ?? NODE_WIDE;
  const factoryId = scope === NODE_WIDE ? null : scope;
  const [{ data, fetching, error }, refetch] = useQuery({
    query: RulesQuery,
    variables: { factoryId },
  });
  const [factories] = useQuery({ query: InboxFactories });
  const [editing, setEditing] = useState<{ id: string | null; draft: RuleDraft } | null>(null);
  const [, removeSilence] = useMutation(RemoveSilence);
  const condition = useCondition();

  const columns: ColumnsType<Rule> = [
    {
      title: t("rules.name"),
      dataIndex: "name",
      render: (name: string) => <strong>{name}</strong>,
    },
    { title: t("rules.kind"), dataIndex: "kind", render: (kind: string) => t(`ruleKind.${kind}`) },
    {
      title: t("rules.target"),
      key: "target",
      render: (_, rule) => (
        <span>
          {rule.deviceType
            ? t("rules.everyOfType", { type: rule.deviceType })
            : t("rules.oneDevice")}{" "}
          · <code>{rule.metric}</code>
        </span>
      ),
    },
    { title: t("rules.condition"), key: "condition", render: (_, rule) => condition(rule) },
    {
      title: t("fields.severity"),
      dataIndex: "severity",
      render: (severity: string, rule) => (
        <Space size={4} wrap>
          <Tag color={SEVERITY_COLORS[severity]}>{t(`severity.${severity}`)}</Tag>
          {rule.escalateTo ? (
            <span>{t("rules.escalatesTo", { severity: t(`severity.${rule.escalateTo}`) })}</span>
          ) : null}
        </Space>
      ),
    },
    {
      title: t("rules.silences"),
      key: "silences",
      render: (_, rule) =>
        rule.silences.length ? (
          <Space orientation="vertical" size={2}>
            {rule.silences.map((silence) => (
              <Space key={silence.id} size={4}>
                <span>
                  {silence.dailyFrom
                    ? t("rules.silenceDaily", { from: silence.dailyFrom, to: silence.dailyTo })
                    : t("rules.silenceUntil", { until: format.dateTime(silence.endsAt) })}
                </span>
                {can.manageAlerts !== false ? (
                  <Button
                    size="small"
                    type="link"
                    onClick={async () => {
                      const result = await removeSilence({ id: silence.id });
                      if (result.error) {
                        const { message: text, code } = describeError(result.error);
                        message.error(`${text} ${code ?? ""}`);
                      } else {
                        refetch({ requestPolicy: "network-only" });
                      }
                    }}
                  >
                    {t("rules.endSilence")}
                  </Button>
                ) : null}
              </Space>
            ))}
          </Space>
        ) : (
          "—"
        ),
    },
    {
      title: t("fields.actions"),
      key: "actions",
      render: (_, rule) =>
        can.manageAlerts !== false && rule.deviceType ? (
          <Space size="small" wrap>
            <Button
              size="small"
              aria-label={t("rules.editNamed", { name: rule.name })}
              onClick={() => setEditing({ id: rule.id, draft: draftOf(rule) })}
            >
              {t("rules.edit")}
            </Button>
            <Button
              size="small"
              aria-label={t("rules.copyNamed", { name: rule.name })}
              onClick={() =>
                setEditing({
                  id: null,
                  draft: { ...draftOf(rule), name: t("rules.copyName", { name: rule.name }) },
                })
              }
            >
              {t("rules.copy")}
            </Button>
          </Space>
        ) : null,
    },
  ];

  const rules = data?.alertRules.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <AlertsNav title={t("rules.title")} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap align="end">
          <Form layout="vertical">
            <Form.Item label={t("rules.scope")} htmlFor="rules-scope" style={{ marginBottom: 0 }}>
              <Select
                id="rules-scope"
                style={{ minWidth: 260 }}
                value={scope}
                onChange={(value) => setParams(value === NODE_WIDE ? {} : { factory: value })}
                options={[
                  { value: NODE_WIDE, label: t("rules.nodeWide") },
                  ...(factories.data?.factories.edges ?? []).map(({ node }) => ({
                    value: node.id,
                    label: node.name,
                  })),
                ]}
              />
            </Form.Item>
          </Form>
          {can.manageAlerts !== false ? (
            <Button
              type="primary"
              onClick={() =>
                setEditing({
                  id: null,
                  draft: {
                    kind: "THRESHOLD",
                    severity: "WARNING",
                    factoryId: factoryId ?? "",
                    forS: 0,
                    clearForS: 0,
                  },
                })
              }
            >
              {t("rules.new")}
            </Button>
          ) : null}
        </Space>
      </Card>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={rules.length > 0}
        empty={t("rules.empty")}
      >
        <Table<Rule>
          rowKey="id"
          columns={columns}
          dataSource={rules}
          pagination={false}
          scroll={{ x: true }}
          data-testid="rules-table"
        />
      </QueryState>
      <RuleEditor
        ruleId={editing?.id ?? null}
        draft={editing?.draft ?? null}
        factories={(factories.data?.factories.edges ?? []).map(({ node }) => node)}
        onClose={() => setEditing(null)}
        onSaved={(scopeId) => {
          setEditing(null);
          message.success(editing?.id ? t("rules.updated") : t("rules.saved"));
          if ((scopeId || null) !== factoryId) setParams(scopeId ? { factory: scopeId } : {});
          else refetch({ requestPolicy: "network-only" });
        }}
      />
    </>
  );
}

const NUMBER_FIELDS = {
  THRESHOLD: ["above", "below", "clearAbove", "clearBelow", "escalateAbove", "escalateBelow"],
  RATE_OF_CHANGE: ["ratePerMin"],
  STALE: ["staleAfterS"],
} as const;

/** The form's values for a rule as the node keeps it. */
function draftOf(rule: Rule): RuleDraft {
  return {
    name: rule.name,
    kind: rule.kind,
    severity: rule.severity,
    factoryId: rule.factoryId ?? "",
    deviceType: rule.deviceType,
    metric: rule.metric,
    above: rule.above,
    below: rule.below,
    ratePerMin: rule.ratePerMin,
    staleAfterS: rule.staleAfterS,
    forS: rule.forS,
    clearAbove: rule.clearAbove,
    clearBelow: rule.clearBelow,
    clearForS: rule.clearForS,
    escalateAbove: rule.escalateAbove,
    escalateBelow: rule.escalateBelow,
    escalateAfterS: rule.escalateAfterS,
    escalateTo: rule.escalateTo,
    contactPointIds: rule.contactPointIds,
  };
}

function RuleEditor({
  ruleId,
  draft,
  factories,
  onClose,
  onSaved,
}: {
  ruleId: string | null;
  draft: RuleDraft | null;
  factories: { id: string; name: string }[];
  onClose: () => void;
  onSaved: (factoryId: string | null | undefined) => void;
}) {
  const { t } = useTranslation("alerts");
  const [form] = Form.useForm<RuleDraft>();
  const values = Form.useWatch([], form) as RuleDraft | undefined;
  const scope = (values ? values.factoryId : draft?.factoryId) || null;
  const [types] = useQuery({ query: DeviceTypes, variables: { factoryId: scope }, pause: !draft });
  const [points] = useQuery({
    query: RuleContactPoints,
    variables: { factoryId: scope },
    pause: !draft,
  });
  const [created, create] = useMutation(CreateRule);
  const [updated, update] = useMutation(UpdateRule);
  const [refusal, setRefusal] = useState<string | null>(null);
  const deviceTypes = types.data?.deviceTypes ?? [];
  const kind = values?.kind ?? draft?.kind ?? "THRESHOLD";
  const metrics = useMemo(
    () => deviceTypes.find((type) => type.type === values?.deviceType)?.metrics ?? [],
    [deviceTypes, values?.deviceType],
  );
  const unit = metrics.find((metric) => metric.name === values?.metric)?.unit;

  async function submit() {
    const current = form.getFieldsValue(true) as RuleDraft;
    setRefusal(null);
    const problems = validateRule(current, deviceTypes);
    form.setFields(
      Object.keys(current).map((name) => ({ name: name as keyof RuleDraft, errors: [] })),
    );
    if (problems.length) {
      form.setFields(
        problems.map((problem) => ({
          name: problem.field,
          errors: [t(`validation.${problem.key}`, problem.values ?? {})],
        })),
      );
      return;
    }
    const input = toRuleInput(current);
    const result = ruleId ? await update({ id: ruleId, input }) : await create({ input });
    if (result.error) {
      const { message, code } = describeError(result.error);
      setRefusal(`${message}${code ? ` (${code})` : ""}`);
      return;
    }
    onSaved(current.factoryId);
  }

  const numberItem = (name: keyof RuleDraft, extra?: { integer?: boolean; suffix?: string }) => (
    <Form.Item name={name} label={t(`ruleFields.${name}`)} htmlFor={`rule-${name}`}>
      <InputNumber
        id={`rule-${name}`}
        style={{ width: "100%" }}
        precision={extra?.integer ? 0 : undefined}
        suffix={extra?.suffix}
      />
    </Form.Item>
  );

  return (
    <Drawer
      open={draft !== null}
      onClose={onClose}
      size={640}
      title={ruleId ? t("rules.editTitle", { name: draft?.name ?? "" }) : t("rules.new")}
      closable={{ "aria-label": t("detail.close") }}
      destroyOnHidden
      extra={
        <Button type="primary" loading={created.fetching || updated.fetching} onClick={submit}>
          {ruleId ? t("rules.save") : t("rules.create")}
        </Button>
      }
    >
      {refusal ? (
        <Alert
          type="error"
          showIcon
          title={t("rules.refused")}
          description={refusal}
          style={{ marginBottom: 16 }}
          data-testid="rule-refusal"
        />
      ) : null}
      <Form form={form} layout="vertical" initialValues={draft ?? {}} preserve>
        <Form.Item name="name" label={t("ruleFields.name")} htmlFor="rule-name">
          <Input id="rule-name" maxLength={200} />
        </Form.Item>
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="factoryId" label={t("rules.scope")} htmlFor="rule-factoryId">
              <Select
                id="rule-factoryId"
                onChange={() =>
                  form.setFieldsValue({ deviceType: null, metric: null, contactPointIds: [] })
                }
                options={[
                  { value: "", label: t("rules.nodeWide") },
                  ...factories.map((factory) => ({ value: factory.id, label: factory.name })),
                ]}
              />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="kind" label={t("rules.kind")} htmlFor="rule-kind">
              <Select
                id="rule-kind"
                options={RULE_KINDS.map((value) => ({ value, label: t(`ruleKind.${value}`) }))}
              />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item
              name="deviceType"
              label={t("ruleFields.deviceType")}
              htmlFor="rule-deviceType"
            >
              <Select
                id="rule-deviceType"
                loading={types.fetching}
                onChange={() => form.setFieldsValue({ metric: null })}
                notFoundContent={
                  types.error ? describeError(types.error).message : t("rules.noTypes")
                }
                options={deviceTypes.map((type) => ({ value: type.type, label: type.type }))}
              />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="metric" label={t("ruleFields.metric")} htmlFor="rule-metric">
              <Select
                id="rule-metric"
                disabled={!values?.deviceType}
                options={metrics.map((metric) => ({
                  value: metric.name,
                  label: metric.unit ? `${metric.name} (${metric.unit})` : metric.name,
                }))}
              />
            </Form.Item>
          </Col>
          {NUMBER_FIELDS[kind].map((name) => (
            <Col span={12} key={name}>
              {numberItem(name, {
                integer: name === "staleAfterS",
                suffix:
                  name === "staleAfterS"
                    ? t("units.s")
                    : name === "ratePerMin"
                      ? `${unit ?? ""}/min`
                      : unit,
              })}
            </Col>
          ))}
          <Col span={12}>{numberItem("forS", { integer: true, suffix: t("units.s") })}</Col>
          <Col span={12}>{numberItem("clearForS", { integer: true, suffix: t("units.s") })}</Col>
          <Col span={12}>
            <Form.Item name="severity" label={t("fields.severity")} htmlFor="rule-severity">
              <Select
                id="rule-severity"
                options={SEVERITIES.map((value) => ({ value, label: t(`severity.${value}`) }))}
              />
            </Form.Item>
          </Col>
          <Col span={12}>
            {numberItem("escalateAfterS", { integer: true, suffix: t("units.s") })}
          </Col>
          <Col span={12}>
            <Form.Item
              name="escalateTo"
              label={t("ruleFields.escalateTo")}
              htmlFor="rule-escalateTo"
            >
              <Select
                id="rule-escalateTo"
                allowClear
                placeholder={t("rules.escalateDefault")}
                options={SEVERITIES.map((value) => ({ value, label: t(`severity.${value}`) }))}
              />
            </Form.Item>
          </Col>
          <Col span={24}>
            <Form.Item
              name="contactPointIds"
              label={t("ruleFields.contactPointIds")}
              htmlFor="rule-contactPointIds"
              extra={t("rules.contactDefault")}
            >
              <Select
                id="rule-contactPointIds"
                mode="multiple"
                allowClear
                loading={points.fetching}
                options={(points.data?.contactPoints.edges ?? []).map(({ node }) => ({
                  value: node.id,
                  label: `${node.name} (${t(`contactKind.${node.kind}`)})`,
                }))}
              />
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </Drawer>
  );
}
