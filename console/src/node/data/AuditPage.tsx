import { Col, Form, Select, Space, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import {
  AuditEntryDrawer,
  AuditFilterCard,
  AuditTable,
  TextFilter,
  useAuditColumns,
} from "../../components/AuditLog";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
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

export default function AuditPage() {
  const { t } = useTranslation("data");
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
  const columns = useAuditColumns<Entry>({
    ns: "data",
    seqTitle: t("audit.seq"),
    onOpen: (entry) => {
      setOpen(entry);
      setShown(true);
    },
  });

  return (
    <>
      <Typography.Title level={2}>{t("audit.title")}</Typography.Title>
      <AuditFilterCard
        ns="data"
        idPrefix="audit"
        actionPlaceholder="node.factory.invite"
        action={filters.action}
        actor={filters.actor}
        since={toLocalInput(filters.since)}
        until={toLocalInput(filters.until)}
        onAction={setAction}
        onActor={setActor}
        onSince={(value) => update({ since: fromLocalInput(value) })}
        onUntil={(value) => update({ until: fromLocalInput(value) })}
        textSpan={4}
        timeSpan={4}
        before={
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
        }
        total={log?.totalCount != null ? t("audit.total", { count: log.totalCount }) : null}
        onClear={
          params.toString()
            ? () => update({ target: null, action: null, actor: null, since: null, until: null })
            : undefined
        }
      />
      <AuditTable<Entry>
        ns="data"
        badRange={badRange}
        fetching={fetching}
        error={error}
        entries={entries}
        columns={columns}
        testId="audit-table"
      />
      <CursorPager pages={pages} pageInfo={log?.pageInfo} showPage />
      <AuditEntryDrawer
        ns="data"
        open={shown}
        entry={open}
        onClose={() => setShown(false)}
        testId="audit-entry"
      />
    </>
  );
}
