import {
  Badge,
  Card,
  Col,
  Form,
  Input,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams, useSearchParams } from "react-router";
import { useQuery, useSubscription } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { AlertsInboxQuery } from "../../gql/node/graphql";
import { AlertActions } from "./AlertActions";
import { AlertDrawer } from "./AlertDrawer";
import { AlertsNav, SEVERITY_COLORS, STATUS_COLORS } from "./AlertsNav";
import {
  type InboxFilters,
  inboxSearch,
  matchesFilters,
  parseInboxFilters,
  SEVERITIES,
  STATUSES,
  toAlertFilter,
} from "./filters";

export const AlertFields = graphql(`
  fragment AlertFields on Alert {
    id
    ruleId
    deviceId
    factoryId
    metric
    severity
    status
    message
    value
    openedAt
    acknowledgedAt
    acknowledgedBy
    acknowledgeNote
    closedAt
    closedBy
    closeReason
    escalatedAt
  }
`);

const InboxQuery = graphql(`
  query AlertsInbox($filter: AlertFilter, $first: Int!, $after: String) {
    alerts(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...AlertFields
        }
      }
    }
  }
`);

export const InboxFactories = graphql(`
  query AlertsFactories {
    factories(first: 100) {
      edges {
        node {
          id
          slug
          name
        }
      }
    }
  }
`);

const InboxRules = graphql(`
  query AlertsRuleChoices($factoryId: UUID) {
    alertRules(factoryId: $factoryId, first: 100) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const Changes = graphql(`
  subscription AlertsInboxChanges($factoryId: UUID, $severity: [AlertSeverity!]) {
    alertChanges(factoryId: $factoryId, severity: $severity) {
      ...AlertFields
    }
  }
`);

type AlertRow = AlertsInboxQuery["alerts"]["edges"][number]["node"];

const PAGE = 25;

/** `2026-12-06T08:00:00.000Z` -> the `datetime-local` input's local `2026-12-06T16:00`. */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export default function AlertsInboxPage() {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const navigate = useNavigate();
  const { id: openId } = useParams();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => parseInboxFilters(params), [params]);
  const pages = useCursorPages();
  const after = pages.after;
  const variables = useMemo(
    () => ({ filter: toAlertFilter(filters), first: PAGE, after }),
    [filters, after],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: InboxQuery, variables });
  const [factories] = useQuery({ query: InboxFactories });
  const [rules] = useQuery({ query: InboxRules, variables: { factoryId: filters.factory } });
  const factoryNames = useMemo(
    () => new Map((factories.data?.factories.edges ?? []).map(({ node }) => [node.id, node.name])),
    [factories.data],
  );

  // Live: a change that belongs in the list shown (by the filters, or already on the page)
  // re-reads the page, at most twice a second (a rule on a type opens one alert per device).
  const [live, setLive] = useState(0);
  const [changes] = useSubscription({
    query: Changes,
    variables: {
      factoryId: filters.factory,
      severity: filters.severity.length ? filters.severity : null,
    },
  });
  const shown = useRef<Set<string>>(new Set());
  shown.current = new Set((data?.alerts.edges ?? []).map((edge) => edge.node.id));
  const lastChange = useRef<unknown>(null);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    const changed = changes.data?.alertChanges;
    if (!changed || changes.data === lastChange.current) return;
    lastChange.current = changes.data;
    if (!matchesFilters(changed, filters) && !shown.current.has(changed.id)) return;
    setLive((count) => count + 1);
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      refetch({ requestPolicy: "network-only" });
    }, 500);
  }, [changes.data, filters, refetch]);
  useEffect(
    () => () => {
      if (pending.current) clearTimeout(pending.current);
    },
    [],
  );

  function update(next: Partial<InboxFilters>) {
    const merged = { ...filters, ...next };
    if (next.factory !== undefined && next.factory !== filters.factory) merged.rule = null;
    pages.reset();
    setParams(inboxSearch(merged));
  }

  const search = params.toString();
  const open = (id: string) => navigate(`/alerts/${id}${search ? `?${search}` : ""}`);
  const reload = () => refetch({ requestPolicy: "network-only" });

  const columns: ColumnsType<AlertRow> = [
    {
      title: t("fields.severity"),
      dataIndex: "severity",
      render: (severity: string) => (
        <Tag color={SEVERITY_COLORS[severity]}>{t(`severity.${severity}`)}</Tag>
      ),
    },
    {
      title: t("fields.status"),
      dataIndex: "status",
      render: (status: string) => <Tag color={STATUS_COLORS[status]}>{t(`status.${status}`)}</Tag>,
    },
    {
      title: t("fields.message"),
      dataIndex: "message",
      render: (message: string, alert) => (
        <Typography.Link
          href={`/alerts/${alert.id}${search ? `?${search}` : ""}`}
          onClick={(event) => {
            event.preventDefault();
            open(alert.id);
          }}
        >
          {message}
        </Typography.Link>
      ),
    },
    {
      title: t("fields.value"),
      key: "value",
      render: (_, alert) => (
        <span>
          <code>{alert.metric}</code> {format.number(alert.value)}
        </span>
      ),
    },
    {
      title: t("fields.factory"),
      dataIndex: "factoryId",
      render: (factoryId: string) => factoryNames.get(factoryId) ?? factoryId.slice(0, 8),
    },
    {
      title: t("fields.openedAt"),
      dataIndex: "openedAt",
      render: (openedAt: string) => (
        <Tooltip title={format.dateTime(openedAt)}>
          <span>{format.relative(openedAt)}</span>
        </Tooltip>
      ),
    },
    {
      title: t("fields.actions"),
      key: "actions",
      render: (_, alert) => <AlertActions alert={alert} onDone={reload} />,
    },
  ];

  const alerts = data?.alerts;
  const rows = alerts?.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <AlertsNav title={t("inbox.title")} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Form layout="vertical">
          <Row gutter={[16, 0]}>
            <Col xs={24} md={12} xl={5}>
              <Form.Item label={t("fields.status")} htmlFor="alerts-status">
                <Select
                  id="alerts-status"
                  mode="multiple"
                  allowClear
                  placeholder={t("filters.anyStatus")}
                  value={filters.status}
                  onChange={(status) => update({ status })}
                  options={STATUSES.map((value) => ({ value, label: t(`status.${value}`) }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={5}>
              <Form.Item label={t("fields.severity")} htmlFor="alerts-severity">
                <Select
                  id="alerts-severity"
                  mode="multiple"
                  allowClear
                  placeholder={t("filters.anySeverity")}
                  value={filters.severity}
                  onChange={(severity) => update({ severity })}
                  options={SEVERITIES.map((value) => ({ value, label: t(`severity.${value}`) }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={4}>
              <Form.Item label={t("fields.factory")} htmlFor="alerts-factory">
                <Select
                  id="alerts-factory"
                  allowClear
                  showSearch={{ optionFilterProp: "label" }}
                  placeholder={t("filters.anyFactory")}
                  value={filters.factory ?? undefined}
                  onChange={(factory) => update({ factory: factory ?? null })}
                  loading={factories.fetching}
                  options={(factories.data?.factories.edges ?? []).map(({ node }) => ({
                    value: node.id,
                    label: node.name,
                  }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={4}>
              <Form.Item label={t("fields.rule")} htmlFor="alerts-rule">
                <Select
                  id="alerts-rule"
                  allowClear
                  showSearch={{ optionFilterProp: "label" }}
                  placeholder={filters.factory ? t("filters.anyRule") : t("filters.nodeRules")}
                  value={filters.rule ?? undefined}
                  onChange={(rule) => update({ rule: rule ?? null })}
                  loading={rules.fetching}
                  options={(rules.data?.alertRules.edges ?? []).map(({ node }) => ({
                    value: node.id,
                    label: node.name,
                  }))}
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={3}>
              <Form.Item label={t("filters.since")} htmlFor="alerts-since">
                <Input
                  id="alerts-since"
                  type="datetime-local"
                  value={toLocalInput(filters.since)}
                  onChange={(event) =>
                    update({
                      since: event.target.value ? new Date(event.target.value).toISOString() : null,
                    })
                  }
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={3}>
              <Form.Item label={t("filters.until")} htmlFor="alerts-until">
                <Input
                  id="alerts-until"
                  type="datetime-local"
                  value={toLocalInput(filters.until)}
                  onChange={(event) =>
                    update({
                      until: event.target.value ? new Date(event.target.value).toISOString() : null,
                    })
                  }
                />
              </Form.Item>
            </Col>
          </Row>
        </Form>
        <Space wrap>
          <Badge
            status={changes.error ? "error" : "processing"}
            text={changes.error ? t("inbox.liveOff") : t("inbox.live", { count: live })}
          />
          <Typography.Text type="secondary">
            {alerts?.totalCount != null ? t("inbox.total", { count: alerts.totalCount }) : null}
          </Typography.Text>
        </Space>
      </Card>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={rows.length > 0}
        empty={t("inbox.empty")}
        rows={6}
      >
        <Table<AlertRow>
          data-testid="alerts-table"
          rowKey="id"
          size="middle"
          columns={columns}
          dataSource={rows}
          pagination={false}
          scroll={{ x: true }}
        />
      </QueryState>
      <CursorPager pages={pages} pageInfo={alerts?.pageInfo} />
      <AlertDrawer
        id={openId ?? null}
        factoryName={(id) => factoryNames.get(id) ?? id}
        onClose={() => navigate(`/alerts${search ? `?${search}` : ""}`)}
        onChanged={reload}
      />
    </>
  );
}
