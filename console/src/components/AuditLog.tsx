/**
 * What the node's audit page and the hub's audit log page share: the entry's columns, its detail
 * drawer and the action/actor/time filters. Each page keeps its own query (its own API) and
 * passes its i18n namespace; both namespaces carry the same `audit.*` keys.
 */
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
  Space,
  Table,
  Tag,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { type ReactNode, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { CombinedError } from "urql";
import { useFormat } from "./format";
import { QueryState } from "./QueryState";

/** One audit entry as both APIs list it. */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  actorOrg: string | null;
  action: string;
  resource: string;
  outcome: string;
  detail: unknown;
  hash: string;
  prevHash: string;
}

/** A text filter that asks the API once typing stops (and at once on Enter). */
export function TextFilter({
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

/** The audit table's columns; the last one opens an entry. */
export function useAuditColumns<T extends AuditEntry>({
  ns,
  seqTitle,
  breakResource = false,
  onOpen,
}: {
  ns: string;
  seqTitle: string;
  /** Break long resources anywhere (the hub's are long paths). */
  breakResource?: boolean;
  onOpen: (entry: T) => void;
}): ColumnsType<T> {
  const { t } = useTranslation(ns);
  const format = useFormat();
  return [
    { title: seqTitle, dataIndex: "seq", render: (seq: number) => format.number(seq) },
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
      render: (resource: string) =>
        breakResource ? (
          <code style={{ wordBreak: "break-all" }}>{resource}</code>
        ) : (
          <code>{resource}</code>
        ),
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
          onClick={() => onOpen(entry)}
          aria-label={t("audit.openEntry", { seq: entry.seq })}
        >
          {t("audit.details")}
        </Button>
      ),
    },
  ];
}

/** One entry in full: its detail and its place in the hash chain. */
export function AuditEntryDrawer({
  ns,
  open,
  entry,
  onClose,
  testId,
}: {
  ns: string;
  open: boolean;
  entry: AuditEntry | null;
  onClose: () => void;
  testId?: string;
}) {
  const { t } = useTranslation(ns);
  const format = useFormat();
  return (
    <Drawer
      open={open}
      onClose={onClose}
      destroyOnHidden
      size={560}
      title={entry ? t("audit.entryTitle", { seq: entry.seq }) : ""}
      closable={{ "aria-label": t("audit.closeEntry") }}
    >
      {entry ? (
        <Descriptions column={1} size="small" bordered data-testid={testId}>
          <Descriptions.Item label={t("audit.at")}>{format.dateTime(entry.at)}</Descriptions.Item>
          <Descriptions.Item label={t("audit.actor")}>
            {entry.actor}
            {entry.actorOrg ? ` (${entry.actorOrg})` : ""}
          </Descriptions.Item>
          <Descriptions.Item label={t("audit.action")}>
            <code>{entry.action}</code>
          </Descriptions.Item>
          <Descriptions.Item label={t("audit.resource")}>
            <code>{entry.resource}</code>
          </Descriptions.Item>
          <Descriptions.Item label={t("audit.outcome")}>{entry.outcome}</Descriptions.Item>
          <Descriptions.Item label={t("audit.detail")}>
            <pre style={{ margin: 0, whiteSpace: "pre-wrap", fontSize: 12 }}>
              {JSON.stringify(entry.detail, null, 2)}
            </pre>
          </Descriptions.Item>
          <Descriptions.Item label={t("audit.hash")}>
            <code style={{ wordBreak: "break-all" }}>{entry.hash}</code>
          </Descriptions.Item>
          <Descriptions.Item label={t("audit.prevHash")}>
            <code style={{ wordBreak: "break-all" }}>{entry.prevHash}</code>
          </Descriptions.Item>
        </Descriptions>
      ) : null}
    </Drawer>
  );
}

export interface AuditFilterCardProps {
  ns: string;
  /** The inputs' ids: `<idPrefix>-action`, `-actor`, `-since`, `-until`. */
  idPrefix: string;
  actionPlaceholder: string;
  action: string | null;
  actor: string | null;
  /** The `datetime-local` inputs' values. */
  since: string;
  until: string;
  onAction: (value: string | null) => void;
  onActor: (value: string | null) => void;
  onSince: (local: string) => void;
  onUntil: (local: string) => void;
  /** Columns' widths on wide screens (24 a row). */
  textSpan: number;
  timeSpan: number;
  /** Filters of the page's own, before the shared ones. */
  before?: ReactNode;
  /** The count of entries found. */
  total: ReactNode;
  /** Clears every filter; absent when none is set. */
  onClear?: () => void;
}

/** The filter card: action and actor (asked once typing stops), a time range, the count. */
export function AuditFilterCard({
  ns,
  idPrefix,
  actionPlaceholder,
  action,
  actor,
  since,
  until,
  onAction,
  onActor,
  onSince,
  onUntil,
  textSpan,
  timeSpan,
  before,
  total,
  onClear,
}: AuditFilterCardProps) {
  const { t } = useTranslation(ns);
  return (
    <Card size="small" style={{ marginBottom: 16 }}>
      <Form layout="vertical">
        <Row gutter={[16, 0]}>
          {before}
          <Col xs={24} md={12} xl={textSpan}>
            <Form.Item label={t("audit.action")} htmlFor={`${idPrefix}-action`}>
              <TextFilter
                id={`${idPrefix}-action`}
                value={action}
                placeholder={actionPlaceholder}
                onChange={onAction}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12} xl={textSpan}>
            <Form.Item label={t("audit.actor")} htmlFor={`${idPrefix}-actor`}>
              <TextFilter id={`${idPrefix}-actor`} value={actor} onChange={onActor} />
            </Form.Item>
          </Col>
          <Col xs={12} md={6} xl={timeSpan}>
            <Form.Item label={t("audit.since")} htmlFor={`${idPrefix}-since`}>
              <Input
                id={`${idPrefix}-since`}
                type="datetime-local"
                value={since}
                onChange={(event) => onSince(event.target.value)}
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={6} xl={timeSpan}>
            <Form.Item label={t("audit.until")} htmlFor={`${idPrefix}-until`}>
              <Input
                id={`${idPrefix}-until`}
                type="datetime-local"
                value={until}
                onChange={(event) => onUntil(event.target.value)}
              />
            </Form.Item>
          </Col>
        </Row>
      </Form>
      <Space wrap>
        <Typography.Text type="secondary">{total}</Typography.Text>
        {onClear ? (
          <Button size="small" onClick={onClear}>
            {t("audit.clear")}
          </Button>
        ) : null}
      </Space>
    </Card>
  );
}

/** The entries found, or why the page does not ask (a time range that ends before it starts). */
export function AuditTable<T extends AuditEntry>({
  ns,
  badRange,
  fetching,
  error,
  entries,
  columns,
  testId,
}: {
  ns: string;
  badRange: boolean;
  fetching: boolean;
  error: CombinedError | undefined;
  entries: T[];
  columns: ColumnsType<T>;
  testId: string;
}) {
  const { t } = useTranslation(ns);
  return badRange ? (
    <Alert type="warning" showIcon title={t("audit.badRange")} />
  ) : (
    <QueryState
      fetching={fetching}
      error={error}
      hasData={entries.length > 0}
      empty={t("audit.empty")}
      rows={8}
    >
      <Table<T>
        data-testid={testId}
        rowKey="seq"
        size="small"
        columns={columns}
        dataSource={entries}
        pagination={false}
        scroll={{ x: true }}
      />
    </QueryState>
  );
}
