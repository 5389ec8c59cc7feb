import { PlusOutlined } from "@ant-design/icons";
import { Button, Card, Flex, Select, Space, Table, Tag, Typography } from "antd";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { FederatedRunsQuery } from "../../gql/hub/graphql";
import { FederatedRunsDocument } from "./documents";
import { RunStatusTag } from "./RunStatusTag";
import { StartRunForm } from "./StartRunForm";
import { isActive, isStatus, STATUSES } from "./shaping";

type Row = FederatedRunsQuery["federatedRuns"]["edges"][number]["node"];

const PAGE = 20;
const ALL = "ALL";
const ACTIVE_POLL_MS = 5000;

export default function RunsPage() {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const viewer = useViewer();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get("status");
  const status = isStatus(statusParam) ? statusParam : null;
  const after = params.get("after");
  const starting = params.get("start") === "1";

  const [{ data, fetching, error }, refetch] = useQuery({
    query: FederatedRunsDocument,
    variables: { status, first: PAGE, after },
  });
  const runs = data?.federatedRuns;
  const rows = runs?.edges.map((edge) => edge.node) ?? [];

  // A run's status changes on the run page live; here the list is asked again while one runs.
  const anyActive = rows.some((row) => isActive(row.status));
  useInterval(anyActive, () => refetch({ requestPolicy: "network-only" }));

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!("after" in changes) && !("start" in changes)) next.delete("after");
    setParams(next);
  };

  return (
    <>
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={2}>{t("list.title")}</Typography.Title>
        <Space>
          {viewer.can.readModels !== false ? (
            <Link to="/federated/models">{t("list.models")}</Link>
          ) : null}
          {viewer.can.runFederated === true ? (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => update({ start: "1" })}
              data-testid="start-run"
            >
              {t("list.start")}
            </Button>
          ) : null}
        </Space>
      </Flex>
      {viewer.can.runFederated === true ? (
        <StartRunForm open={starting} onClose={() => update({ start: null })} />
      ) : null}
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Select
            aria-label={t("list.status")}
            value={status ?? ALL}
            onChange={(value: string) => update({ status: value === ALL ? null : value })}
            style={{ width: 200 }}
            options={[
              { value: ALL, label: t("list.allStatuses") },
              ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
            ]}
          />
          {runs ? (
            <Typography.Text type="secondary">
              {t("list.total", {
                count: runs.totalCount ?? 0,
                formatted: format.number(runs.totalCount ?? 0),
              })}
            </Typography.Text>
          ) : null}
        </Space>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("list.empty")}
        >
          <Table<Row>
            rowKey="id"
            dataSource={rows}
            pagination={false}
            size="middle"
            scroll={{ x: 900 }}
            onRow={(row) => ({ onDoubleClick: () => navigate(`/federated/runs/${row.id}`) })}
            columns={[
              {
                title: t("fields.label"),
                dataIndex: "label",
                render: (value: string, row) => (
                  <Link to={`/federated/runs/${row.id}`}>{value}</Link>
                ),
              },
              {
                title: t("fields.status"),
                dataIndex: "status",
                render: (value: Row["status"]) => <RunStatusTag status={value} />,
              },
              {
                title: t("fields.strategy"),
                dataIndex: "strategy",
                render: (value: string) => t(`strategy.${value}`, { defaultValue: value }),
              },
              {
                title: t("fields.rounds"),
                dataIndex: "rounds",
                align: "right",
                render: (value: number) => format.number(value),
              },
              {
                title: t("fields.minNodes"),
                dataIndex: "minNodes",
                align: "right",
                render: (value: number) => format.number(value),
              },
              {
                title: t("fields.privacy"),
                key: "privacy",
                render: (_: unknown, row) =>
                  row.config.secureAggregation ? (
                    <Tag>{t("privacy.secaggShort")}</Tag>
                  ) : row.config.dpNoiseMultiplier > 0 ? (
                    <Tag>
                      {t("privacy.dpShort", { noise: format.number(row.config.dpNoiseMultiplier) })}
                    </Tag>
                  ) : (
                    t("privacy.none")
                  ),
              },
              { title: t("fields.startedBy"), dataIndex: "startedBy" },
              {
                title: t("fields.createdAt"),
                dataIndex: "createdAt",
                render: (value: string) => format.dateTime(value),
              },
              {
                title: t("fields.model"),
                dataIndex: "modelId",
                render: (value: string | null) =>
                  value ? <Link to={`/federated/models/${value}`}>{t("fields.model")}</Link> : "—",
              },
            ]}
          />
          <Space style={{ marginTop: 16 }}>
            {after ? (
              <Button onClick={() => update({ after: null })}>{t("list.firstPage")}</Button>
            ) : null}
            {runs?.pageInfo.hasNextPage ? (
              <Button onClick={() => update({ after: runs.pageInfo.endCursor ?? null })}>
                {t("list.nextPage")}
              </Button>
            ) : null}
          </Space>
        </QueryState>
      </Card>
    </>
  );
}

function useInterval(active: boolean, tick: () => void) {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => saved.current(), ACTIVE_POLL_MS);
    return () => window.clearInterval(timer);
  }, [active]);
}
