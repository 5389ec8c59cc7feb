import { Button, Card, Select, Space, Table, Tabs, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { ContractState, ExchangeContractsQuery } from "../../gql/hub/graphql";
import { ContractActions } from "./ContractActions";
import { ContractsDocument } from "./documents";
import { Organization } from "./Organization";
import { purposeKey } from "./policyWords";
import { StatusTag } from "./StatusTag";

type Row = ExchangeContractsQuery["dataContracts"]["edges"][number]["node"];

const PAGE = 20;
const ALL = "ALL";
const STATUSES: ContractState[] = ["REQUESTED", "OFFERED", "AGREED", "FINALIZED", "TERMINATED"];

function isStatus(value: string | null): value is ContractState {
  return value !== null && (STATUSES as string[]).includes(value);
}

export default function ContractsPage() {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const role = params.get("role") === "provider" ? "PROVIDER" : "CONSUMER";
  const statusParam = params.get("status");
  const status = isStatus(statusParam) ? statusParam : null;
  const after = params.get("after");

  const [{ data, fetching, error }, refetch] = useQuery({
    query: ContractsDocument,
    variables: { role, status, productId: null, first: PAGE, after },
    requestPolicy: "cache-and-network",
  });
  const contracts = data?.dataContracts;
  const rows = contracts?.edges.map((edge) => edge.node) ?? [];

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!("after" in changes)) next.delete("after");
    setParams(next);
  };

  return (
    <>
      <Typography.Title level={2}>{t("contracts.title")}</Typography.Title>
      <Card>
        <Tabs
          activeKey={role}
          onChange={(key) => update({ role: key === "PROVIDER" ? "provider" : null })}
          items={[
            { key: "CONSUMER", label: t("contracts.consumer") },
            { key: "PROVIDER", label: t("contracts.provider") },
          ]}
        />
        <Space wrap style={{ marginBottom: 16 }}>
          <Select
            aria-label={t("contracts.status")}
            value={status ?? ALL}
            onChange={(value: string) => update({ status: value === ALL ? null : value })}
            style={{ width: 200 }}
            options={[
              { value: ALL, label: t("contracts.allStatuses") },
              ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
            ]}
          />
          {contracts ? (
            <Typography.Text type="secondary">
              {t("contracts.total", {
                count: contracts.totalCount,
                formatted: format.number(contracts.totalCount),
              })}
            </Typography.Text>
          ) : null}
        </Space>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("contracts.empty")}
        >
          <Table<Row>
            rowKey="id"
            size="middle"
            pagination={false}
            scroll={{ x: 1000 }}
            dataSource={rows}
            columns={[
              {
                title: t("contracts.product"),
                key: "product",
                render: (_, row) => (
                  <Link to={`/exchange/contracts/${row.id}`}>
                    {row.product?.title ?? row.product?.key ?? row.id}
                  </Link>
                ),
              },
              {
                title: t("contracts.purpose"),
                dataIndex: "purpose",
                render: (purpose: string) => t(`purposes.${purposeKey(purpose)}`, purpose),
              },
              {
                title:
                  role === "PROVIDER" ? t("contracts.consumerOrg") : t("contracts.providerOrg"),
                key: "party",
                render: (_, row) => (
                  <Organization
                    id={
                      role === "PROVIDER" ? row.consumerOrganizationId : row.providerOrganizationId
                    }
                  />
                ),
              },
              {
                title: t("contracts.status"),
                dataIndex: "status",
                render: (value: string) => <StatusTag status={value} />,
              },
              {
                title: t("contracts.termsHash"),
                dataIndex: "termsHash",
                width: 150,
                render: (hash: string | null) =>
                  hash ? (
                    <Typography.Text
                      code
                      copyable={{ text: hash }}
                      style={{ whiteSpace: "nowrap" }}
                    >
                      {hash.slice(0, 12)}…
                    </Typography.Text>
                  ) : (
                    "—"
                  ),
              },
              {
                title: t("contracts.createdAt"),
                dataIndex: "createdAt",
                render: (value: string) => format.dateTime(value),
              },
              {
                title: t("contracts.expiresAt"),
                dataIndex: "expiresAt",
                render: (value: string | null) => format.dateTime(value),
              },
              {
                title: t("contracts.actions"),
                key: "actions",
                width: 220,
                render: (_, row) => (
                  <ContractActions
                    contract={row}
                    onDone={() => refetch({ requestPolicy: "network-only" })}
                  />
                ),
              },
            ]}
          />
          <Space style={{ marginTop: 16 }}>
            {after ? (
              <Button onClick={() => update({ after: null })}>{t("catalog.firstPage")}</Button>
            ) : null}
            {contracts?.pageInfo.hasNextPage ? (
              <Button onClick={() => update({ after: contracts.pageInfo.endCursor ?? null })}>
                {t("catalog.nextPage")}
              </Button>
            ) : null}
          </Space>
        </QueryState>
      </Card>
    </>
  );
}
