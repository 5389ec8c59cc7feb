import { Button, Flex, Table, Typography } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { FactoryAuditQuery } from "../../gql/node/graphql";

const FactoryAudit = graphql(`
  query FactoryAudit($factoryId: UUID!, $first: Int!) {
    auditLog(factoryId: $factoryId, first: $first) {
      totalCount
      pageInfo {
        hasNextPage
      }
      edges {
        node {
          seq
          at
          actor
          actorOrg
          action
          outcome
          resource
          detail
        }
      }
    }
  }
`);

type Entry = FactoryAuditQuery["auditLog"]["edges"][number]["node"];
const STEP = 10;

function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) {
    return value.map(String).join(", ");
  }
  return JSON.stringify(value);
}

/** `{"from": "submitted", "to": "verified", "reason": null}` as `from: submitted · to: verified`. */
export function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object" || Array.isArray(detail)) return JSON.stringify(detail);
  return Object.entries(detail as Record<string, unknown>)
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${key}: ${valueText(value)}`)
    .join(" · ");
}

/**
 * The factory's audit trail (its own entries, its stations', models' and devices'), newest
 * first; asked again when `version` changes (after the page changed the factory).
 */
export function FactoryAuditTrail({ factoryId, version }: { factoryId: string; version: string }) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const [first, setFirst] = useState(STEP);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: FactoryAudit,
    variables: { factoryId, first },
  });
  const seen = useRef(version);
  useEffect(() => {
    if (seen.current !== version) {
      seen.current = version;
      refetch({ requestPolicy: "network-only" });
    }
  }, [version, refetch]);

  const log = data?.auditLog;
  const entries = log?.edges.map((edge) => edge.node) ?? [];
  return (
    <QueryState
      fetching={fetching}
      error={error}
      hasData={entries.length > 0}
      empty={t("audit.empty")}
    >
      <Table<Entry>
        rowKey="seq"
        size="small"
        pagination={false}
        tableLayout="fixed"
        dataSource={entries}
        data-testid="factory-audit"
        columns={[
          {
            key: "at",
            title: t("audit.at"),
            dataIndex: "at",
            width: 180,
            render: (at: string) => format.dateTime(at),
          },
          {
            key: "action",
            title: t("audit.action"),
            dataIndex: "action",
            width: 200,
            render: (action: string) => (
              <Typography.Text code style={{ whiteSpace: "nowrap" }}>
                {action}
              </Typography.Text>
            ),
          },
          {
            key: "actor",
            title: t("audit.actor"),
            width: 200,
            render: (_, entry) => (
              <Typography.Text ellipsis={{ tooltip: entry.actor }} style={{ maxWidth: "100%" }}>
                {entry.actor}
                {entry.actorOrg ? ` (${entry.actorOrg})` : ""}
              </Typography.Text>
            ),
          },
          {
            key: "resource",
            title: t("audit.resource"),
            dataIndex: "resource",
            width: 200,
            ellipsis: { showTitle: true },
          },
          { key: "outcome", title: t("audit.outcome"), dataIndex: "outcome", width: 80 },
          {
            key: "detail",
            title: t("audit.detail"),
            render: (_, entry) => (
              <span style={{ overflowWrap: "anywhere" }}>{detailText(entry.detail) || "—"}</span>
            ),
          },
        ]}
      />
      <Flex justify="space-between" align="center" style={{ marginTop: 12 }}>
        <Typography.Text type="secondary">
          {t("audit.shown", {
            shown: format.number(entries.length),
            total: format.number(log?.totalCount ?? entries.length),
          })}
        </Typography.Text>
        {log?.pageInfo.hasNextPage ? (
          <Button loading={fetching} onClick={() => setFirst(first + STEP * 2)}>
            {t("audit.more")}
          </Button>
        ) : null}
      </Flex>
    </QueryState>
  );
}
