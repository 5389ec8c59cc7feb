import { Card, Descriptions, Select, Space, Table, Tabs, Tag, Tooltip, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type {
  DataProductsQuery,
  MarketInstallationsQuery,
  MarketInstallState,
} from "../../gql/node/graphql";

const DataProducts = graphql(`
  query DataProducts {
    dataProducts(first: 100) {
      totalCount
      edges {
        node {
          key
          title
          description
          updateFrequency
          fields {
            name
            type
            role
            description
          }
          offers
          publicSample
          nextSeq
          needsSnapshot
          pendingBatches
          oldestPendingAt
          queuedRows
          updatedAt
        }
      }
    }
  }
`);

const MarketInstallations = graphql(`
  query MarketInstallations($state: MarketInstallState, $first: Int!, $after: String) {
    marketTrustFetchedAt
    marketInstallations(state: $state, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          releaseId
          listing
          version
          kind
          artifactSha256
          state
          error
          detail
          config
          routingId
          modelId
          reported
          usageReported
          createdAt
          updatedAt
        }
      }
    }
  }
`);

type Product = DataProductsQuery["dataProducts"]["edges"][number]["node"];
type Installation = MarketInstallationsQuery["marketInstallations"]["edges"][number]["node"];

const STATES: MarketInstallState[] = ["INSTALLED", "FAILED", "DISABLED", "REMOVED"];
const STATE_COLORS: Record<string, string> = {
  INSTALLED: "success",
  FAILED: "error",
  DISABLED: "warning",
  REMOVED: "default",
};

function Json({ value }: { value: unknown }) {
  // Not a scroll box of its own: all of it shows, wrapped (a scroll box would need keyboard access).
  return (
    <pre style={{ margin: 0, fontSize: 12, whiteSpace: "pre-wrap", wordBreak: "break-word" }}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** Sync state in a word: in step, waiting for the hub, or a snapshot to send. */
function syncState(product: Product): { key: string; color: string } {
  if (product.nextSeq === null || product.nextSeq === undefined)
    return { key: "notStarted", color: "default" };
  if (product.needsSnapshot) return { key: "snapshot", color: "warning" };
  if (product.pendingBatches > 0) return { key: "pending", color: "processing" };
  return { key: "inSync", color: "success" };
}

function Products() {
  const { t } = useTranslation("data");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({ query: DataProducts });
  const products = data?.dataProducts.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Product> = [
    {
      title: t("products.title"),
      key: "title",
      render: (_, product) => (
        <Space orientation="vertical" size={0}>
          <strong>{product.title}</strong>
          <code>{product.key}</code>
        </Space>
      ),
    },
    { title: t("products.updateFrequency"), dataIndex: "updateFrequency" },
    {
      title: t("products.sync"),
      key: "sync",
      render: (_, product) => {
        const state = syncState(product);
        return <Tag color={state.color}>{t(`products.syncStates.${state.key}`)}</Tag>;
      },
    },
    {
      title: t("products.nextSeq"),
      dataIndex: "nextSeq",
      render: (value: number | null) => format.number(value),
    },
    {
      title: t("products.pendingBatches"),
      dataIndex: "pendingBatches",
      render: (value: number) => format.number(value),
    },
    {
      title: t("products.queuedRows"),
      dataIndex: "queuedRows",
      render: (value: number) => format.number(value),
    },
    {
      title: t("products.oldestPendingAt"),
      dataIndex: "oldestPendingAt",
      render: (value: string | null) =>
        value ? <Tooltip title={format.dateTime(value)}>{format.relative(value)}</Tooltip> : "—",
    },
    {
      title: t("products.updatedAt"),
      dataIndex: "updatedAt",
      render: (value: string | null) =>
        value ? <Tooltip title={format.dateTime(value)}>{format.relative(value)}</Tooltip> : "—",
    },
  ];
  return (
    <QueryState
      fetching={fetching}
      error={error}
      hasData={products.length > 0}
      empty={t("products.empty")}
    >
      <Table<Product>
        data-testid="data-products"
        rowKey="key"
        columns={columns}
        dataSource={products}
        pagination={false}
        scroll={{ x: true }}
        expandable={{
          expandedRowRender: (product) => (
            <Space orientation="vertical" style={{ width: "100%" }}>
              <Typography.Paragraph style={{ marginBottom: 0 }}>
                {product.description}
              </Typography.Paragraph>
              <Typography.Text>
                {product.publicSample ? t("products.publicSample") : t("products.noPublicSample")}
              </Typography.Text>
              <Table
                size="small"
                rowKey="name"
                pagination={false}
                dataSource={product.fields}
                columns={[
                  {
                    title: t("products.field"),
                    dataIndex: "name",
                    render: (name: string) => <code>{name}</code>,
                  },
                  { title: t("products.fieldType"), dataIndex: "type" },
                  { title: t("products.fieldRole"), dataIndex: "role" },
                  { title: t("products.fieldDescription"), dataIndex: "description" },
                ]}
              />
              <Typography.Text strong>{t("products.offers")}</Typography.Text>
              <Json value={product.offers} />
            </Space>
          ),
        }}
      />
    </QueryState>
  );
}

function Installations() {
  const { t } = useTranslation("data");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const state = (STATES as string[]).includes(params.get("state") ?? "")
    ? (params.get("state") as MarketInstallState)
    : null;
  const [{ data, fetching, error }] = useQuery({
    query: MarketInstallations,
    variables: { state, first: 100, after: null },
  });
  const rows = data?.marketInstallations.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Installation> = [
    {
      title: t("installs.listing"),
      key: "listing",
      render: (_, row) => (
        <Space orientation="vertical" size={0}>
          <strong>{row.listing}</strong>
          <span>
            {row.version} · {row.kind}
          </span>
        </Space>
      ),
    },
    {
      title: t("installs.state"),
      dataIndex: "state",
      render: (value: string, row) => (
        <Space size={4} wrap>
          <Tag color={STATE_COLORS[value]}>{t(`installs.states.${value}`)}</Tag>
          {row.error ? <code>{row.error}</code> : null}
        </Space>
      ),
    },
    {
      title: t("installs.reported"),
      dataIndex: "reported",
      render: (value: string | null, row) =>
        value === null ? (
          <Tag color="warning">{t("installs.notReported")}</Tag>
        ) : value.toUpperCase() === row.state ? (
          t("installs.reportedSame")
        ) : (
          <Tag color="warning">{value}</Tag>
        ),
    },
    {
      title: t("installs.usageReported"),
      dataIndex: "usageReported",
      render: (value: number) => format.number(value),
    },
    {
      title: t("installs.createdAt"),
      dataIndex: "createdAt",
      render: (value: string) => format.dateTime(value),
    },
  ];
  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <label htmlFor="installs-state">{t("installs.state")}</label>
        <Select
          id="installs-state"
          allowClear
          style={{ minWidth: 200 }}
          placeholder={t("installs.anyState")}
          value={state ?? undefined}
          onChange={(value) => {
            const next = new URLSearchParams(params);
            if (value) next.set("state", value);
            else next.delete("state");
            setParams(next);
          }}
          options={STATES.map((value) => ({ value, label: t(`installs.states.${value}`) }))}
        />
        <Typography.Text type="secondary">
          {t("installs.trust", {
            when: data?.marketTrustFetchedAt
              ? format.dateTime(data.marketTrustFetchedAt)
              : t("installs.never"),
          })}
        </Typography.Text>
      </Space>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={rows.length > 0}
        empty={t("installs.empty")}
      >
        <Table<Installation>
          data-testid="market-installations"
          rowKey="id"
          columns={columns}
          dataSource={rows}
          pagination={false}
          scroll={{ x: true }}
          expandable={{
            expandedRowRender: (row) => (
              <Descriptions column={1} size="small" bordered>
                <Descriptions.Item label={t("installs.id")}>
                  <code>{row.id}</code>
                </Descriptions.Item>
                <Descriptions.Item label={t("installs.release")}>
                  <code>{row.releaseId}</code>
                </Descriptions.Item>
                <Descriptions.Item label={t("installs.sha")}>
                  <code style={{ wordBreak: "break-all" }}>{row.artifactSha256}</code>
                </Descriptions.Item>
                <Descriptions.Item label={t("installs.detail")}>
                  {row.detail || "—"}
                </Descriptions.Item>
                {row.routingId ? (
                  <Descriptions.Item label={t("installs.routing")}>
                    <code>{row.routingId}</code>
                  </Descriptions.Item>
                ) : null}
                {row.modelId ? (
                  <Descriptions.Item label={t("installs.model")}>
                    <code>{row.modelId}</code>
                  </Descriptions.Item>
                ) : null}
                <Descriptions.Item label={t("installs.updatedAt")}>
                  {format.dateTime(row.updatedAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("installs.config")}>
                  <Json value={row.config} />
                </Descriptions.Item>
              </Descriptions>
            ),
          }}
        />
      </QueryState>
    </>
  );
}

export default function DataPage() {
  const { t } = useTranslation("data");
  const { can } = useViewer();
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") === "installations" ? "installations" : "products";
  const items = [
    ...(can.readDataProducts === false
      ? []
      : [{ key: "products", label: t("tabs.products"), children: <Products /> }]),
    ...(can.readInstallations === false
      ? []
      : [{ key: "installations", label: t("tabs.installations"), children: <Installations /> }]),
  ];
  return (
    <>
      <Typography.Title level={2}>{t("title")}</Typography.Title>
      <Card>
        <Tabs
          activeKey={tab}
          onChange={(key) => setParams(key === "products" ? {} : { tab: key })}
          items={items}
          destroyOnHidden
        />
      </Card>
    </>
  );
}
