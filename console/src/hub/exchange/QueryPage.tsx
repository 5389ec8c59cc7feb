import { DeleteOutlined, PlayCircleOutlined, PlusOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Input,
  Radio,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from "antd";
import { BarChart, LineChart } from "echarts/charts";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { ExchangeContractQuery } from "../../gql/hub/graphql";
import { ContractDocument, ContractsDocument, GovernedDataDocument } from "./documents";
import { purposeKey } from "./policyWords";
import {
  AGGREGATE_FNS,
  type AggregateSpec,
  aggregateColumn,
  type BuilderState,
  chartData,
  FILTER_OPS,
  type FilterSpec,
  isRunnable,
  queryInput,
  readBuilder,
  type SchemaField,
  writeBuilder,
} from "./queryBuilder";
import { RefusalNotice } from "./RefusalNotice";

use([BarChart, LineChart]);

type Contract = ExchangeContractQuery["dataContract"];

const NUMERIC = new Set(["integer", "number"]);

export default function QueryPage() {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const asked = useMemo(() => readBuilder(params), [params]);

  const [agreements] = useQuery({
    query: ContractsDocument,
    variables: { role: "CONSUMER", status: "FINALIZED", productId: null, first: 100, after: null },
    requestPolicy: "cache-and-network",
  });
  const contracts = agreements.data?.dataContracts.edges.map((edge) => edge.node) ?? [];

  const [chosen] = useQuery({
    query: ContractDocument,
    variables: { id: asked.contract ?? "" },
    pause: !asked.contract,
  });
  const contract = asked.contract ? chosen.data?.dataContract : undefined;

  return (
    <>
      <Typography.Title level={2}>{t("query.title")}</Typography.Title>
      <Card style={{ marginBottom: 16 }}>
        <QueryState
          fetching={agreements.fetching}
          error={agreements.error}
          hasData={contracts.length > 0 || Boolean(asked.contract)}
          empty={
            <>
              {t("query.noContracts")} <Link to="/exchange">{t("menu.catalog")}</Link>
            </>
          }
        >
          <Space orientation="vertical" style={{ width: "100%" }}>
            <Typography.Text strong>{t("query.contract")}</Typography.Text>
            <Select
              aria-label={t("query.contract")}
              placeholder={t("query.contractPlaceholder")}
              value={asked.contract ?? undefined}
              onChange={(value: string) => setParams(new URLSearchParams({ contract: value }))}
              style={{ width: "100%", maxWidth: 720 }}
              showSearch={{ optionFilterProp: "label" }}
              options={contracts.map((c) => ({
                value: c.id,
                label: `${c.product?.title ?? c.product?.key ?? c.id} · ${t(
                  `purposes.${purposeKey(c.purpose)}`,
                  c.purpose,
                )} · ${format.date(c.expiresAt)}`,
              }))}
            />
          </Space>
        </QueryState>
      </Card>
      {asked.contract ? (
        <QueryState
          fetching={chosen.fetching}
          error={chosen.error}
          hasData={contract !== undefined}
          rows={6}
        >
          {contract ? <Builder key={params.toString()} contract={contract} asked={asked} /> : null}
        </QueryState>
      ) : null}
      {contract && isRunnable(asked) ? <Answer contract={contract} asked={asked} /> : null}
    </>
  );
}

function allowedFields(contract: Contract): SchemaField[] {
  const allowed = new Set(contract.terms?.fields ?? []);
  return (contract.product?.schema ?? []).filter((field) => allowed.has(field.name));
}

function Builder({ contract, asked }: { contract: Contract; asked: BuilderState }) {
  const { t } = useTranslation("exchange");
  const [, setParams] = useSearchParams();
  const [state, setState] = useState<BuilderState>(asked);
  const fields = allowedFields(contract);
  const k = contract.terms?.aggregation?.minContributors ?? null;
  const names = fields.map((f) => ({ value: f.name, label: f.name }));
  // Under aggregation-only terms only dimensions (and the region) select and group.
  const groupable = fields
    .filter((f) =>
      k === null ? f.role !== "measure" : f.role === "dimension" || f.role === "region",
    )
    .map((f) => ({ value: f.name, label: f.name }));
  const fieldsFor = (fn: AggregateSpec["fn"]) =>
    fields
      .filter((f) =>
        fn === "COUNT"
          ? false
          : fn === "SUM" || fn === "AVG"
            ? NUMERIC.has(f.type)
            : NUMERIC.has(f.type) || f.type === "date",
      )
      .map((f) => ({ value: f.name, label: f.name }));
  const set = (changes: Partial<BuilderState>) => setState((s) => ({ ...s, ...changes }));
  const setAggregate = (index: number, changes: Partial<AggregateSpec>) =>
    set({ aggregates: state.aggregates.map((a, i) => (i === index ? { ...a, ...changes } : a)) });
  const setFilter = (index: number, changes: Partial<FilterSpec>) =>
    set({ filters: state.filters.map((f, i) => (i === index ? { ...f, ...changes } : f)) });

  return (
    <Card style={{ marginBottom: 16 }} data-testid="query-builder">
      {k !== null ? (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={t("query.aggregatesOnly", { count: k })}
        />
      ) : null}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t("query.groupBy")}</Typography.Text>
          <Select
            aria-label={t("query.groupBy")}
            mode="multiple"
            allowClear
            value={state.groupBy}
            onChange={(groupBy: string[]) => set({ groupBy })}
            options={groupable}
            style={{ width: "100%" }}
          />
        </Col>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t("query.fields")}</Typography.Text>{" "}
          <Typography.Text type="secondary">{t("query.fieldsHelp")}</Typography.Text>
          <Select
            aria-label={t("query.fields")}
            mode="multiple"
            allowClear
            value={state.fields}
            onChange={(chosen: string[]) => set({ fields: chosen })}
            options={names}
            style={{ width: "100%" }}
          />
        </Col>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t("query.aggregates")}</Typography.Text>
          {state.aggregates.map((aggregate, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a row is its place in the list being edited
            <Flex gap={8} key={`agg-${index}`} style={{ marginTop: 8 }}>
              <Select
                aria-label={t("query.aggFn", { n: index + 1 })}
                value={aggregate.fn}
                onChange={(fn: AggregateSpec["fn"]) =>
                  setAggregate(index, {
                    fn,
                    field: fn === "COUNT" ? null : (fieldsFor(fn)[0]?.value ?? null),
                  })
                }
                options={AGGREGATE_FNS.map((fn) => ({ value: fn, label: t(`query.fns.${fn}`) }))}
                style={{ width: 140 }}
              />
              <Select
                aria-label={t("query.aggField", { n: index + 1 })}
                value={aggregate.field ?? ""}
                onChange={(field: string) => setAggregate(index, { field: field || null })}
                options={
                  aggregate.fn === "COUNT"
                    ? [{ value: "", label: t("query.rowsCounted") }]
                    : fieldsFor(aggregate.fn)
                }
                style={{ flex: 1 }}
              />
              <Button
                aria-label={t("query.aggRemove", { n: index + 1 })}
                icon={<DeleteOutlined />}
                onClick={() => set({ aggregates: state.aggregates.filter((_, i) => i !== index) })}
              />
            </Flex>
          ))}
          <div style={{ marginTop: 8 }}>
            <Button
              icon={<PlusOutlined />}
              onClick={() => {
                const measure = fieldsFor("SUM")[0]?.value ?? null;
                set({
                  aggregates: [
                    ...state.aggregates,
                    measure ? { fn: "SUM", field: measure } : { fn: "COUNT", field: null },
                  ],
                });
              }}
            >
              {t("query.addAggregate")}
            </Button>
          </div>
        </Col>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t("query.filters")}</Typography.Text>
          {state.filters.map((filter, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a row is its place in the list being edited
            <Flex gap={8} key={`filter-${index}`} style={{ marginTop: 8 }}>
              <Select
                aria-label={t("query.filterField", { n: index + 1 })}
                value={filter.field || undefined}
                onChange={(field: string) => setFilter(index, { field })}
                options={k === null ? names : groupable}
                style={{ width: 160 }}
              />
              <Select
                aria-label={t("query.filterOp", { n: index + 1 })}
                value={filter.op}
                onChange={(op: FilterSpec["op"]) => setFilter(index, { op })}
                options={FILTER_OPS.map((op) => ({ value: op, label: t(`query.ops.${op}`) }))}
                style={{ width: 120 }}
              />
              <Input
                aria-label={t("query.filterValue", { n: index + 1 })}
                value={filter.value}
                onChange={(event) => setFilter(index, { value: event.target.value })}
                style={{ flex: 1 }}
              />
              <Button
                aria-label={t("query.filterRemove", { n: index + 1 })}
                icon={<DeleteOutlined />}
                onClick={() => set({ filters: state.filters.filter((_, i) => i !== index) })}
              />
            </Flex>
          ))}
          <div style={{ marginTop: 8 }}>
            <Button
              icon={<PlusOutlined />}
              onClick={() =>
                set({
                  filters: [
                    ...state.filters,
                    { field: groupable[0]?.value ?? "", op: "EQ", value: "" },
                  ],
                })
              }
            >
              {t("query.addFilter")}
            </Button>
          </div>
        </Col>
      </Row>
      <Flex gap={16} align="center" wrap style={{ marginTop: 24 }}>
        <Button
          type="primary"
          icon={<PlayCircleOutlined />}
          disabled={state.fields.length === 0 && state.aggregates.length === 0}
          onClick={() => setParams(writeBuilder({ ...state, contract: contract.id }))}
        >
          {t("query.run")}
        </Button>
        <Radio.Group
          aria-label={t("query.chart")}
          value={state.chart}
          onChange={(event) => {
            const chart = event.target.value as BuilderState["chart"];
            set({ chart });
            if (isRunnable(asked)) setParams(writeBuilder({ ...asked, chart }));
          }}
          optionType="button"
          options={[
            { value: "bar", label: t("query.bar") },
            { value: "line", label: t("query.line") },
          ]}
        />
      </Flex>
    </Card>
  );
}

function Answer({ contract, asked }: { contract: Contract; asked: BuilderState }) {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const schema = contract.product?.schema ?? [];
  const input = useMemo(() => queryInput(asked, schema), [asked, schema]);
  const [{ data, fetching, error }] = useQuery({
    query: GovernedDataDocument,
    variables: { contractId: contract.id, query: input },
    requestPolicy: "network-only",
  });
  const result = data?.governedData;
  const rows = (Array.isArray(result?.rows) ? result.rows : []) as Record<string, unknown>[];
  const labels = new Map(
    asked.aggregates.map((a) => [
      aggregateColumn(a),
      a.field ? `${t(`query.fns.${a.fn}`)} · ${a.field}` : t(`query.fns.${a.fn}`),
    ]),
  );
  const measures = (result?.columns ?? []).filter((column) => labels.has(column));
  const chart = result ? chartData(rows, asked.groupBy, measures) : null;
  const option = useMemo(
    () =>
      chart
        ? {
            tooltip: { trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 64, right: 24, top: 40, bottom: 80 },
            xAxis: {
              type: "category",
              data: chart.categories,
              axisLabel: { rotate: chart.categories.length > 6 ? 30 : 0 },
            },
            yAxis: { type: "value" },
            series: chart.series.map((s) => ({
              name: labels.get(s.name) ?? s.name,
              type: asked.chart,
              data: s.values,
            })),
          }
        : null,
    [chart, labels, asked.chart],
  );

  return (
    <Card title={t("query.result")} data-testid="query-result">
      {error && !result ? <RefusalNotice error={error} /> : null}
      {!error || result ? (
        <QueryState
          fetching={fetching}
          hasData={result !== undefined}
          empty={t("query.empty")}
          rows={6}
        >
          {result ? (
            <>
              <Space wrap style={{ marginBottom: 16 }}>
                <Typography.Text data-testid="query-summary">
                  {t("query.resultSummary", {
                    rows: format.number(rows.length),
                    total: format.number(result.totalCount),
                  })}
                </Typography.Text>
                {result.minContributors !== null && result.minContributors !== undefined ? (
                  <Tag color="processing">
                    {t("query.minContributors", { count: result.minContributors })}
                  </Tag>
                ) : null}
                {result.retainUntil ? (
                  <Tag>{t("query.retainUntil", { date: format.date(result.retainUntil) })}</Tag>
                ) : null}
                {result.termsHash ? (
                  <Typography.Text type="secondary">
                    {t("query.termsHash", { hash: `${result.termsHash.slice(0, 12)}…` })}
                  </Typography.Text>
                ) : null}
              </Space>
              {rows.length === 0 ? (
                <Empty description={t("query.empty")} />
              ) : (
                <>
                  {chart && option ? (
                    <EChart
                      option={option}
                      label={t("query.chartLabel", {
                        measures: measures.map((m) => labels.get(m) ?? m).join(", "),
                        groups: asked.groupBy.join(", "),
                      })}
                    />
                  ) : null}
                  <Table<Record<string, unknown>>
                    rowKey={(_, index) => String(index)}
                    size="small"
                    scroll={{ x: true }}
                    pagination={{ pageSize: 20, hideOnSinglePage: true }}
                    dataSource={rows}
                    data-testid="query-table"
                    columns={result.columns.map((column) => ({
                      title: labels.get(column) ?? column,
                      dataIndex: column,
                      align: typeof rows[0]?.[column] === "number" ? "right" : "left",
                      render: (value: unknown) =>
                        typeof value === "number"
                          ? format.number(value, { maximumFractionDigits: 2 })
                          : value === null || value === undefined
                            ? "—"
                            : Array.isArray(value)
                              ? value.join(", ")
                              : String(value),
                    }))}
                  />
                </>
              )}
            </>
          ) : null}
        </QueryState>
      ) : null}
    </Card>
  );
}
