import { App, Button, Card, Popconfirm, Select, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketInstallationState, MarketNodeInstallationsQuery } from "../../gql/hub/graphql";
import { MarketInstallationsQuery, MarketNodesQuery, MarketRemoveInstallation } from "./documents";
import { InstallationTag } from "./MarketBits";
import { isSettled, withParams } from "./market";

type Installation = MarketNodeInstallationsQuery["marketInstallations"]["edges"][number]["node"];

const STATUSES: MarketInstallationState[] = [
  "REQUESTED",
  "APPROVED",
  "INSTALLED",
  "FAILED",
  "DISABLED",
  "REMOVING",
  "REMOVED",
];
const PAGE = 20;
const POLL_MS = 3000;

/** A node operator's installations, node by node, with removal; live while any is moving. */
export default function InstallationsPage() {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const [nodes] = useQuery({ query: MarketNodesQuery });
  const names = (nodes.data?.marketNodes ?? []).map((n) => n.name);
  const node = params.get("node") ?? names[0] ?? null;
  const statusParam = params.get("status") as MarketInstallationState | null;
  const status = statusParam && STATUSES.includes(statusParam) ? statusParam : null;
  const pages = useCursorPages();
  const { reset } = pages;
  // biome-ignore lint/correctness/useExhaustiveDependencies: another node or status starts at page one
  useEffect(() => reset(), [node, status, reset]);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MarketInstallationsQuery,
    variables: { node: node ?? "", status, first: PAGE, after: pages.after },
    pause: !node,
  });
  const [removed, remove] = useMutation(MarketRemoveInstallation);
  const rows = data?.marketInstallations.edges.map((edge) => edge.node) ?? [];
  const moving = rows.some((row) => !isSettled(row.status));
  useEffect(() => {
    if (!moving) return;
    const timer = window.setInterval(() => refetch({ requestPolicy: "network-only" }), POLL_MS);
    return () => window.clearInterval(timer);
  }, [moving, refetch]);

  const columns: ColumnsType<Installation> = [
    {
      title: t("installations.release"),
      key: "release",
      render: (_, row) =>
        row.release ? (
          <Link
            to={`/market/releases/${row.releaseId}?installation=${row.id}&node=${encodeURIComponent(row.node)}`}
          >
            {row.release.manifestFields.title ?? row.release.manifestFields.name}{" "}
            {row.release.version}
          </Link>
        ) : (
          <code>{row.releaseId}</code>
        ),
    },
    {
      title: t("search.kind"),
      key: "kind",
      render: (_, row) => (row.release ? t(`kinds.${row.release.manifestFields.kind}`) : "—"),
    },
    {
      title: t("installations.status"),
      key: "status",
      render: (_, row) => (
        <Space orientation="vertical" size={0}>
          <InstallationTag status={row.status} />
          {row.detail ? <Typography.Text type="secondary">{row.detail}</Typography.Text> : null}
        </Space>
      ),
    },
    {
      title: t("follow.pinned"),
      dataIndex: "pinned",
      render: (v: boolean) => (v ? t("yes") : t("no")),
    },
    {
      title: t("follow.updated"),
      dataIndex: "updatedAt",
      render: (v: string) => format.dateTime(v),
    },
    {
      title: t("keys.actions"),
      key: "actions",
      render: (_, row) =>
        row.status === "INSTALLED" || row.status === "FAILED" || row.status === "APPROVED" ? (
          <Popconfirm
            title={t("installations.removeConfirm")}
            okText={t("installations.remove")}
            cancelText={t("cancel")}
            onConfirm={async () => {
              const result = await remove({ id: row.id });
              if (result.data) {
                message.success(t("installations.removing"));
                refetch({ requestPolicy: "network-only" });
              }
            }}
          >
            <Button size="small" danger>
              {t("installations.remove")}
            </Button>
          </Popconfirm>
        ) : null,
    },
  ];

  return (
    <>
      <Typography.Title level={2}>{t("installations.title")}</Typography.Title>
      <QueryState
        fetching={nodes.fetching}
        error={nodes.error}
        hasData={names.length > 0}
        empty={t("install.noNodes")}
      >
        <Space wrap style={{ marginBottom: 16 }}>
          <Select
            aria-label={t("install.node")}
            value={node}
            style={{ width: 260 }}
            options={names.map((name) => ({ value: name, label: name }))}
            onChange={(value: string) => setParams(withParams(params, { node: value }))}
          />
          <Select
            aria-label={t("installations.status")}
            value={status ?? ""}
            style={{ width: 180 }}
            options={[
              { value: "", label: t("search.any") },
              ...STATUSES.map((s) => ({ value: s, label: t(`installStatus.${s}`) })),
            ]}
            onChange={(value: string) => setParams(withParams(params, { status: value || null }))}
          />
        </Space>
        <Card size="small">
          <QueryState
            fetching={fetching}
            error={error}
            hasData={rows.length > 0}
            empty={t("installations.empty")}
          >
            <Table<Installation>
              data-testid="installations"
              rowKey="id"
              columns={columns}
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
            />
          </QueryState>
          <CursorPager pages={pages} pageInfo={data?.marketInstallations.pageInfo} />
          {removed.error ? (
            <ErrorNotice error={removed.error} title={t("installations.removeFailed")} />
          ) : null}
        </Card>
      </QueryState>
    </>
  );
}
