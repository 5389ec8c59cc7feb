import { Button, Card, Input, Segmented, Select, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { PROVINCE_CODES, regionLabel } from "../../components/provinces";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type { HubNodesQuery as HubNodesResult } from "../../gql/hub/graphql";
import { HubNodesQuery } from "./documents";
import { LatestEvent, Region, StatusTag, When } from "./NodeBits";
import {
  groupByRegionAndIndustry,
  matchesSearch,
  type NodeFilters,
  type RegionGroupRow,
  readFilters,
  writeFilters,
} from "./nodes";
import { useLiveNodes } from "./useNodeEvents";

type Node = HubNodesResult["regionalNodes"]["edges"][number]["node"];

const PAGE = 100;
const pickNodes = (data: HubNodesResult) => data.regionalNodes;

function NodesTable({ nodes }: { nodes: Node[] }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const columns: ColumnsType<Node> = [
    {
      title: t("fields.name"),
      dataIndex: "name",
      render: (name: string) => <Link to={`/nodes/${encodeURIComponent(name)}`}>{name}</Link>,
    },
    {
      title: t("fields.region"),
      dataIndex: "region",
      render: (code: string) => <Region code={code} />,
    },
    { title: t("fields.industry"), dataIndex: "industry" },
    {
      title: t("fields.status"),
      dataIndex: "status",
      render: (status: string) => <StatusTag status={status} />,
    },
    {
      title: t("fields.lastHeartbeat"),
      dataIndex: "lastHeartbeat",
      render: (value: string | null) => (
        <Space orientation="vertical" size={0}>
          <When value={value} />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {format.dateTime(value)}
          </Typography.Text>
        </Space>
      ),
    },
    {
      title: t("fields.version"),
      dataIndex: "version",
      render: (value: string | null) => (value ? <code>{value}</code> : t("fields.noVersion")),
    },
    {
      title: t("fields.registeredAt"),
      dataIndex: "registeredAt",
      render: (value: string) => format.dateTime(value),
    },
  ];
  return (
    <Table<Node>
      data-testid="nodes-table"
      rowKey="name"
      columns={columns}
      dataSource={nodes}
      pagination={false}
      scroll={{ x: true }}
    />
  );
}

function RegionView({ nodes }: { nodes: Node[] }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const rows = groupByRegionAndIndustry(nodes);
  const columns: ColumnsType<RegionGroupRow> = [
    {
      title: t("fields.region"),
      dataIndex: "region",
      onCell: (row) => ({ rowSpan: row.regionSpan }),
      render: (code: string, row) => (
        <Space orientation="vertical" size={0}>
          <Link to={`/nodes?region=${encodeURIComponent(code)}`}>
            <Region code={code} />
          </Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t("regions.regionTotal", {
              total: format.number(row.regionTotal.total),
              online: format.number(row.regionTotal.online),
            })}
          </Typography.Text>
        </Space>
      ),
    },
    { title: t("fields.industry"), dataIndex: "industry" },
    {
      title: t("overview.total"),
      dataIndex: "total",
      align: "right",
      render: (value: number) => format.number(value),
    },
    {
      title: t("status.ONLINE"),
      dataIndex: "online",
      align: "right",
      render: (value: number) => format.number(value),
    },
    {
      title: t("status.OFFLINE"),
      dataIndex: "offline",
      align: "right",
      render: (value: number) =>
        value > 0 ? (
          <Typography.Text type="danger">{format.number(value)}</Typography.Text>
        ) : (
          format.number(value)
        ),
    },
  ];
  return (
    <Table<RegionGroupRow>
      data-testid="regions-table"
      rowKey="key"
      bordered
      columns={columns}
      dataSource={rows}
      pagination={false}
    />
  );
}

export default function NodesPage() {
  const { t, i18n } = useTranslation("nodes");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const { context, latest, apply } = useLiveNodes();
  const variables = useMemo(
    () => ({
      first: PAGE,
      after: null,
      filter: { region: filters.region, industry: filters.industry, status: filters.status },
    }),
    [filters.region, filters.industry, filters.status],
  );
  const [{ data, fetching, error }] = useQuery({ query: HubNodesQuery, variables, context });
  // Every node, for the industry choices (regions come from the province table).
  const [all] = useQuery({
    query: HubNodesQuery,
    variables: { first: PAGE, after: null, filter: null },
    context,
  });
  const pages = useLoadMore(HubNodesQuery, variables, data?.regionalNodes, pickNodes);
  const shown = apply(pages.rows).filter(
    (node) => matchesSearch(node, filters.q) && (!filters.status || node.status === filters.status),
  );
  const industries = [
    ...new Set([
      ...(all.data?.regionalNodes.edges.map((edge) => edge.node.industry) ?? []),
      ...(filters.industry ? [filters.industry] : []),
    ]),
  ].sort();
  const regions = [
    ...new Set([
      ...PROVINCE_CODES,
      ...(all.data?.regionalNodes.edges.map((edge) => edge.node.region) ?? []),
      ...(filters.region ? [filters.region] : []),
    ]),
  ].sort();

  function update(next: Partial<NodeFilters>) {
    setParams(writeFilters({ ...filters, ...next }));
  }

  return (
    <>
      <Space align="baseline" wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2}>{t("list.title")}</Typography.Title>
        <LatestEvent event={latest} />
      </Space>
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Input.Search
            aria-label={t("list.search")}
            placeholder={t("list.search")}
            allowClear
            defaultValue={filters.q}
            key={filters.q}
            onSearch={(q) => update({ q })}
            style={{ width: 240 }}
          />
          <Select
            aria-label={t("fields.region")}
            data-testid="filter-region"
            allowClear
            showSearch={{ optionFilterProp: "label" }}
            style={{ minWidth: 200 }}
            placeholder={t("list.anyRegion")}
            value={filters.region ?? undefined}
            onChange={(region) => update({ region: region ?? null })}
            options={regions.map((code) => ({
              value: code,
              label: regionLabel(code, i18n.language),
            }))}
          />
          <Select
            aria-label={t("fields.industry")}
            allowClear
            style={{ minWidth: 200 }}
            placeholder={t("list.anyIndustry")}
            value={filters.industry ?? undefined}
            onChange={(industry) => update({ industry: industry ?? null })}
            options={industries.map((value) => ({ value, label: value }))}
          />
          <Select
            aria-label={t("fields.status")}
            allowClear
            style={{ minWidth: 140 }}
            placeholder={t("list.anyStatus")}
            value={filters.status ?? undefined}
            onChange={(status) => update({ status: status ?? null })}
            options={(["ONLINE", "OFFLINE"] as const).map((value) => ({
              value,
              label: t(`status.${value}`),
            }))}
          />
          <Segmented<NodeFilters["view"]>
            aria-label={t("list.view")}
            value={filters.view}
            onChange={(view) => update({ view })}
            options={[
              { value: "table", label: t("list.tableView") },
              { value: "regions", label: t("list.regionView") },
            ]}
          />
        </Space>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={shown.length > 0}
          empty={t("list.none")}
        >
          <Typography.Paragraph type="secondary" data-testid="nodes-total">
            {t("list.total", {
              count: shown.length,
              total: format.number(data?.regionalNodes.totalCount ?? shown.length),
            })}
          </Typography.Paragraph>
          {filters.view === "regions" ? <RegionView nodes={shown} /> : <NodesTable nodes={shown} />}
          {pages.error ? <ErrorNotice error={pages.error} /> : null}
          {pages.hasNext ? (
            <Button style={{ marginTop: 16 }} loading={pages.loading} onClick={pages.loadMore}>
              {t("list.more")}
            </Button>
          ) : null}
        </QueryState>
      </Card>
    </>
  );
}
