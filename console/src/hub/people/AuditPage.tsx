import { SafetyCertificateOutlined } from "@ant-design/icons";
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
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { type CombinedError, useClient, useQuery } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type {
  PeopleAuditLogQuery as AuditData,
  PeopleVerifyAuditChainQuery as Verification,
} from "../../gql/hub/graphql";
import { PeopleAuditLogQuery, PeopleVerifyAuditChain } from "./documents";
import { fromLocalInput, textParam, timeParam, toLocalInput, withParams } from "./people";

type Entry = AuditData["auditLog"]["edges"][number]["node"];

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

function ChainVerification() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const client = useClient();
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Verification["auditChainVerification"] | null>(null);
  const [error, setError] = useState<CombinedError | null>(null);
  const verify = async () => {
    setRunning(true);
    const answer = await client
      .query(PeopleVerifyAuditChain, {}, { requestPolicy: "network-only" })
      .toPromise();
    setRunning(false);
    setError(answer.error ?? null);
    setResult(answer.data?.auditChainVerification ?? null);
  };
  return (
    <Card size="small" style={{ marginBottom: 16 }} title={t("audit.chain")}>
      <Space orientation="vertical" style={{ width: "100%" }}>
        <Space wrap>
          <Button icon={<SafetyCertificateOutlined />} loading={running} onClick={verify}>
            {t("audit.verify")}
          </Button>
          <Typography.Text type="secondary">{t("audit.verifyExplain")}</Typography.Text>
        </Space>
        {error ? <ErrorNotice error={error} /> : null}
        {result ? (
          <Alert
            data-testid="chain-result"
            type={result.ok ? "success" : "error"}
            showIcon
            title={
              result.ok
                ? t("audit.verified", { count: result.checked })
                : t("audit.broken", { count: result.checked, seq: result.seq ?? "—" })
            }
            description={
              <>
                {result.problem ? <div>{result.problem}</div> : null}
                <div>{t("audit.verifiedAt", { at: format.dateTime(result.verifiedAt) })}</div>
              </>
            }
          />
        ) : null}
      </Space>
    </Card>
  );
}

export default function AuditPage() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const action = textParam(params, "action", 200);
  const actor = textParam(params, "actor", 200);
  const since = timeParam(params, "since");
  const until = timeParam(params, "until");
  const badRange = !!since && !!until && new Date(until) <= new Date(since);
  const pages = useCursorPages();
  const [open, setOpen] = useState<Entry | null>(null);
  const variables = useMemo(
    () => ({ first: PAGE, after: pages.after, action, actor, since, until }),
    [pages.after, action, actor, since, until],
  );
  const [{ data, fetching, error }] = useQuery({
    query: PeopleAuditLogQuery,
    variables,
    pause: badRange,
  });
  const update = useMemo(
    () => (changes: Record<string, string | null>) => {
      pages.reset();
      setParams((current) => withParams(current, changes));
    },
    [setParams, pages.reset],
  );
  const setAction = useMemo(() => (value: string | null) => update({ action: value }), [update]);
  const setActor = useMemo(() => (value: string | null) => update({ actor: value }), [update]);
  const log = data?.auditLog;
  const entries = log?.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Entry> = [
    { title: "#", dataIndex: "seq", render: (seq: number) => format.number(seq) },
    { title: t("audit.at"), dataIndex: "at", render: (at: string) => format.dateTime(at) },
    {
      title: t("audit.actor"),
      dataIndex: "actor",
      render: (value: string, entry) => (
        <Space orientation="vertical" size={0}>
          <span>{value}</span>
          {entry.actorOrg ? (
            <Typography.Text type="secondary">{entry.actorOrg}</Typography.Text>
          ) : null}
        </Space>
      ),
    },
    {
      title: t("audit.action"),
      dataIndex: "action",
      render: (value: string) => <code>{value}</code>,
    },
    {
      title: t("audit.resource"),
      dataIndex: "resource",
      render: (value: string) => <code style={{ wordBreak: "break-all" }}>{value}</code>,
    },
    {
      title: t("audit.outcome"),
      dataIndex: "outcome",
      render: (value: string) => <Tag color={value === "ok" ? "success" : "error"}>{value}</Tag>,
    },
    {
      title: t("audit.details"),
      key: "open",
      render: (_, entry) => (
        <Button
          size="small"
          onClick={() => setOpen(entry)}
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
      <ChainVerification />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Form layout="vertical">
          <Row gutter={[16, 0]}>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.action")} htmlFor="hub-audit-action">
                <TextFilter
                  id="hub-audit-action"
                  value={action}
                  placeholder="user.created"
                  onChange={setAction}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12} xl={6}>
              <Form.Item label={t("audit.actor")} htmlFor="hub-audit-actor">
                <TextFilter id="hub-audit-actor" value={actor} onChange={setActor} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={5}>
              <Form.Item label={t("audit.since")} htmlFor="hub-audit-since">
                <Input
                  id="hub-audit-since"
                  type="datetime-local"
                  value={toLocalInput(since)}
                  onChange={(event) => update({ since: fromLocalInput(event.target.value) })}
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={6} xl={5}>
              <Form.Item label={t("audit.until")} htmlFor="hub-audit-until">
                <Input
                  id="hub-audit-until"
                  type="datetime-local"
                  value={toLocalInput(until)}
                  onChange={(event) => update({ until: fromLocalInput(event.target.value) })}
                />
              </Form.Item>
            </Col>
          </Row>
        </Form>
        <Space wrap>
          <Typography.Text type="secondary">
            {log?.totalCount != null ? t("total", { count: log.totalCount }) : null}
          </Typography.Text>
          {params.toString() ? (
            <Button
              size="small"
              onClick={() => update({ action: null, actor: null, since: null, until: null })}
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
            data-testid="hub-audit-table"
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
        open={open !== null}
        onClose={() => setOpen(null)}
        destroyOnHidden
        size={560}
        title={open ? t("audit.entryTitle", { seq: open.seq }) : ""}
        closable={{ "aria-label": t("audit.closeEntry") }}
      >
        {open ? (
          <Descriptions column={1} size="small" bordered>
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
