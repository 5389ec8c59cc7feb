import { SafetyCertificateOutlined } from "@ant-design/icons";
import { Alert, Button, Card, Space, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { type CombinedError, useClient, useQuery } from "urql";
import {
  AuditEntryDrawer,
  AuditFilterCard,
  AuditTable,
  useAuditColumns,
} from "../../components/AuditLog";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { ErrorNotice } from "../../components/QueryState";
import type {
  PeopleAuditLogQuery as AuditData,
  PeopleVerifyAuditChainQuery as Verification,
} from "../../gql/hub/graphql";
import { PeopleAuditLogQuery, PeopleVerifyAuditChain } from "./documents";
import { fromLocalInput, textParam, timeParam, toLocalInput, withParams } from "./people";

type Entry = AuditData["auditLog"]["edges"][number]["node"];

const PAGE = 50;

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
  const columns = useAuditColumns<Entry>({
    ns: "people",
    seqTitle: "#",
    breakResource: true,
    onOpen: setOpen,
  });
  return (
    <>
      <Typography.Title level={2}>{t("audit.title")}</Typography.Title>
      <ChainVerification />
      <AuditFilterCard
        ns="people"
        idPrefix="hub-audit"
        actionPlaceholder="user.created"
        action={action}
        actor={actor}
        since={toLocalInput(since)}
        until={toLocalInput(until)}
        onAction={setAction}
        onActor={setActor}
        onSince={(value) => update({ since: fromLocalInput(value) })}
        onUntil={(value) => update({ until: fromLocalInput(value) })}
        textSpan={6}
        timeSpan={5}
        total={log?.totalCount != null ? t("total", { count: log.totalCount }) : null}
        onClear={
          params.toString()
            ? () => update({ action: null, actor: null, since: null, until: null })
            : undefined
        }
      />
      <AuditTable<Entry>
        ns="people"
        badRange={badRange}
        fetching={fetching}
        error={error}
        entries={entries}
        columns={columns}
        testId="hub-audit-table"
      />
      <CursorPager pages={pages} pageInfo={log?.pageInfo} showPage />
      <AuditEntryDrawer
        ns="people"
        open={open !== null}
        entry={open}
        onClose={() => setOpen(null)}
      />
    </>
  );
}
