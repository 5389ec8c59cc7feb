import {
  Alert,
  Button,
  Card,
  Col,
  Descriptions,
  Drawer,
  Form,
  Input,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { AuditLogQuery } from "../../gql/node/graphql";
import {
  type AuditFilters,
  auditSearch,
  fromLocalInput,
  parseAuditFilters,
  rangeProblem,
  TARGET_KINDS,
  type TargetKind,
  toAuditVariables,
  toLocalInput,
} from "./auditFilters";

const AuditLog = graphql(`
  query AuditLog(
    $first: Int!
    $after: String
    $action: String
    $actor: String
    $factorySlug: String
    $orderNumber: String
    $deviceKey: String
    $since: DateTime
    $until: DateTime
  ) {
    auditLog(
      first: $first
      after: $after
      action: $action
      actor: $actor
      factorySlug: $factorySlug
      orderNumber: $orderNumber
      deviceKey: $deviceKey
      since: $since
      until: $until
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          seq
          at
          actor
          actorOrg
          action
          resource
          outcome
          detail
          hash
          prevHash
        }
      }
    }
  }
`);

type Entry = AuditLogQuery["auditLog"]["edges"][number]["node"];

const PAGE = 50;

/** A text filter that asks the API once typing stops (and at once on Enter). */
function TextFilter({
  id,
  value,
  placeholder,
  onChange,
}: {
  id: string;
  value: string | null;
  placeholder?: string;
  onChange: (value: string | null) => void;
}) {
  const [draft, setDraft] = useState(value ?? "");
  useEffect(() => setDraft(value ?? ""), [value]);
  useEffect(() => {
    if (draft.trim() === (value ?? "")) return;
    const timer = setTimeout(() => onChange(draft.trim() || null), 600);
    return () => clearTimeout(timer);
  }, [draft, value, onChange]);
  return (
    <Input
      id={id}
      allowClear
      value={draft}
      placeholder={placeholder}
      onChange={(event) => setDraft(event.target.value)}
      onPressEnter={() => onChange(draft.trim() || null)}
    />
  );
}

export default function AuditPage() {
  const { t } = useTranslation("data");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => parseAuditFilters(params), [params]);
  const [targetKind, setTargetKind] = useState<TargetKind>(filters.target?.kind ?? "factory");
  const pages = useCursorPages();
  const [open, setOpen] = useState<Entry | null>(null);
  const [shown, setShown] = useState(false);
  const badRange = rangeProblem(filters);
  const variables = useMemo(
    () => ({
      ...toAuditVariables(filters),
      first: PAGE,
      after: pages.after,
    }),
    [filters, pages.after],
  );
  const [{ data, fetching, error }] = useQuery({ query: AuditLog, variables, pause: badRange });

  const update = useMemo(
    () => (next: Partial<AuditFilters>) => {
      pages.reset();
      setParams(auditSearch({ ...parseAuditFilters(params), ...next }));
    },
    [params, setParams, pages.reset],
  );
  const setTarget = useMemo(
    () => (value: string | null) => update({ target: value ? { kind: targetKind, value } : null }),
    [update, targetKind],
  );
  const setAction = useMemo(() => (action: string | null) => update({ action }), [update]);
  const setActor = useMemo(() => (actor: string | null) => update({ actor }), [update]);

  const log = data?.auditLog;
  const entries = log?.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Entry> = [
    { title: t("audit.seq"), dataIndex: "seq", render: (seq: number) => format.number(seq) },
    { title: t("audit.at"), dataIndex: "at", render: (at: string) => format.dateTime(at) },
    {
      title: t("audit.actor"),
      dataIndex: "actor",
      render: (actor: string, entry) => (
        <Space orientation="vertical" size={0}>
          <span>{actor}</span>
          {entry.actorOrg ? (
            <Typography.Text type="secondary">{entry.actorOrg}</Typography.Text>
          ) : null}
        </Space>
      ),
    },
    {
      title: t("audit.action"),
      dataIndex: "action",
      render: (action: string) => <code>{action}</code>,
    },
    {
      title: t("audit.resource"),
      dataIndex: "resource",
      render: (resource: string) => <code>{resource}</code>,
    },
    {
      title: t("audit.outcome"),
      dataIndex: "outcome",
      render: (outcome: string) => (
        <Tag color={outcome === "ok" ? "success" : "error"}>{outcome}</Tag>
      ),
    },
    {
      title: t("audit.details"),
      key: "open",
      render: (_, entry) => (
        <Button
          size="small"
          onClick={() => {
            setOpen(entry);
            setShown(true);
          }}
          aria-label={t("audit.openEntry", { seq: entry.seq })}
        >
          {t("audit.details")}
        </Button>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={2}>{t("audit.title")}</Typography.Title>
      <Card size="small" style={{ marginBottom: 16 }}>
        <Form layout="vertical">
          <Row gutter={[16, 0]}>
            <Col xs={24} md={12} xl={8}>
              <Form.Item label={t("audit.target")} htmlFor="audit-target">
                <Space.Compact style={{ width: "100%" }}>
                  <Select
                    aria-label={t("audit.targetKind")}
                    style={{ width: 120 }}
                    value={targetKind}
                    onChange={(kind) => {
                      setTargetKind(kind);
                      if (filters.target) update({ target: { kind, value: filters.target.value } });
                    }}
                    options={TARGET_KINDS.map((kind) => ({
                      value: kind,
                      label: t(`audit.targetKinds.${kind}`),
                    }))}
                  />
                  <TextFilter
                    id="audit-target"
                    value={filters.target?.value ?? null}
                    placeholder={t(`audit.targetPlaceholder.${targetKind}`)}
                    onChange={setTarget}
                  />
                </Space.Compact>
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={4}>
              <Form.Item label={t("audit.action")} htmlFor="audit-action">
                <TextFilter
                  id="audit-action"
                  value={filters.action}
                  placeholder="node.factory.invite"
                  onChange={setAction}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={4}>
              <Form.Item label={t("audit.actor")} htmlFor="audit-actor">
                <TextFilter id="audit-actor" value={filters.actor} onChange={setActor} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={4}>
              <Form.Item label={t("audit.since")} htmlFor="audit-since">
                <Input
                  id="audit-since"
                  type="datetime-local"
                  value={toLocalInput(filters.since)}
                  onChange={(event) => update({ since: fromLocalInput(event.target.value) })}
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={4}>
              <Form.Item label={t("audit.until")} htmlFor="audit-until">
                <Input
                  id="audit-until"
                  type="datetime-local"
                  value={toLocalInput(filters.until)}
                  onChange={(event) => update({ until: fromLocalInput(event.target.value) })}
                />
              </Form.Item>
            </Col>
          </Row>
        </Form>
        <Space wrap>
          <Typography.Text type="secondary">
            {log?.totalCount != null ? t("audit.total", { count: log.totalCount }) : null}
          </Typography.Text>
          {params.toString() ? (
            <Button
              size="small"
              onClick={() =>
                update({ target: null, action: null, actor: null, since: null, until: null })
              }
            >
              {t("audit.clear")}
            </Button>
          ) : null}
        </Space>
      </Card>
      {badRange ? (
        <Alert type="warning" showIcon title={t("audit.badRange")} />
      ) : (
        <QueryState
          fetching={fetching}
          error={error}
          hasData={entries.length > 0}
          empty={t("audit.empty")}
          rows={8}
        >
          <Table<Entry>
            data-testid="audit-table"
            rowKey="seq"
            size="small"
            columns={columns}
            dataSource={entries}
            pagination={false}
            scroll={{ x: true }}
          />
        </QueryState>
      )}
      <CursorPager pages={pages} pageInfo={log?.pageInfo} showPage />
      <Drawer
        open={shown}
        onClose={() => setShown(false)}
        destroyOnHidden
        size={560}
        title={open ? t("audit.entryTitle", { seq: open.seq }) : ""}
        closable={{ "aria-label": t("audit.closeEntry") }}
      >
        {open ? (
          <Descriptions column={1} size="small" bordered data-testid="audit-entry">
            <Descriptions.Item label={t("audit.at")}>{format.dateTime(open.at)}</Descriptions.Item>
            <Descriptions.Item label={t("audit.actor")}>
              {open.actor}
              {open.actorOrg ? ` (${open.actorOrg})` : ""}
            </Descriptions.Item>
            <Descriptions.Item label={t("audit.action")}>
              <code>{open.action}</code>
            </Descriptions.Item>
            <Descriptions.Item label={t("audit.resource")}>
              <code>{open.resource}</code>
            </Descriptions.Item>
            <Descriptions.Item label={t("audit.outcome")}>{open.outcome}</Descriptions.Item>
            <Descriptions.Item label={t("audit.detail")}>
              <pre style={{ margin: 0, whiteSpace: "pre-wrap", fontSize: 12 }}>
                {JSON.stringify(open.detail, null, 2)}
              </pre>
            </Descriptions.Item>
            <Descriptions.Item label={t("audit.hash")}>
              <code style={{ wordBreak: "break-all" }}>{open.hash}</code>
            </Descriptions.Item>
            <Descriptions.Item label={t("audit.prevHash")}>
              <code style={{ wordBreak: "break-all" }}>{open.prevHash}</code>
            </Descriptions.Item>
          </Descriptions>
        ) : null}
      </Drawer>
    </>
  );
}
