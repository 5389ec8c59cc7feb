import {
  Alert,
  Breadcrumb,
  Button,
  Card,
  Descriptions,
  Form,
  Input,
  Modal,
  Space,
  Table,
  Tag,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { describeError, ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type {
  HubNodeInstallationsQuery as InstallationsResult,
  HubNodeProductsQuery as ProductsResult,
} from "../../gql/hub/graphql";
import {
  ChangeNodeUrlMutation,
  HubNodeInstallationsQuery,
  HubNodeProductsQuery,
  HubNodeQuery,
  HubNodeUrlQuery,
} from "./documents";
import { LatestEvent, Region, StatusTag, When } from "./NodeBits";
import { useLiveNodes } from "./useNodeEvents";

type Product = ProductsResult["dataProducts"]["edges"][number]["node"];
type Installation = InstallationsResult["marketInstallations"]["edges"][number]["node"];

const PAGE = 50;
const pickProducts = (data: ProductsResult) => data.dataProducts;
const pickInstallations = (data: InstallationsResult) => data.marketInstallations;

const INSTALL_COLORS: Record<string, string> = {
  REQUESTED: "processing",
  APPROVED: "processing",
  INSTALLED: "success",
  FAILED: "error",
  REMOVING: "warning",
  REMOVED: "default",
  DISABLED: "warning",
};

function CardTitle({ children }: { children: string }) {
  return <h3 style={{ margin: 0, fontSize: 16 }}>{children}</h3>;
}

function BaseUrl({ name }: { name: string }) {
  const [{ data, fetching, error }] = useQuery({ query: HubNodeUrlQuery, variables: { name } });
  if (error) {
    const { message, code } = describeError(error);
    return (
      <Typography.Text type="secondary">
        {message} {code ? <code>{code}</code> : null}
      </Typography.Text>
    );
  }
  if (fetching && !data) return <>…</>;
  const url = data?.regionalNode?.baseUrl;
  return url ? <code data-testid="node-base-url">{url}</code> : <>—</>;
}

function ChangeUrl({ name }: { name: string }) {
  const { t } = useTranslation("nodes");
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState("");
  const [state, change] = useMutation(ChangeNodeUrlMutation);
  const [done, setDone] = useState<string | null>(null);
  const valid = /^https?:\/\/\S+$/i.test(url.trim());
  return (
    <>
      <Button
        onClick={() => {
          setUrl("");
          setDone(null);
          setOpen(true);
        }}
      >
        {t("detail.changeUrl")}
      </Button>
      {done ? (
        <Alert type="success" showIcon title={t("detail.urlChanged", { url: done })} />
      ) : null}
      <Modal
        open={open}
        title={t("detail.changeUrlTitle", { name })}
        okText={t("detail.changeUrlConfirm")}
        cancelText={t("detail.cancel")}
        okButtonProps={{ disabled: !valid, danger: true }}
        confirmLoading={state.fetching}
        onCancel={() => setOpen(false)}
        onOk={async () => {
          const result = await change({ name, baseUrl: url.trim() });
          if (!result.error && result.data) {
            setDone(result.data.changeRegionalNodeUrl.baseUrl ?? url.trim());
            setOpen(false);
          }
        }}
        destroyOnHidden
      >
        <Typography.Paragraph>{t("detail.changeUrlWarning")}</Typography.Paragraph>
        <Form layout="vertical">
          <Form.Item label={t("detail.newUrl")} htmlFor="node-new-url">
            <Input
              id="node-new-url"
              value={url}
              placeholder="https://node.example.cn"
              onChange={(event) => setUrl(event.target.value)}
              maxLength={2048}
            />
          </Form.Item>
        </Form>
        {state.error ? <ErrorNotice error={state.error} /> : null}
      </Modal>
    </>
  );
}

function Products({ name }: { name: string }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const variables = { node: name, first: PAGE, after: null };
  const [{ data, fetching, error }] = useQuery({ query: HubNodeProductsQuery, variables });
  const pages = useLoadMore(HubNodeProductsQuery, variables, data?.dataProducts, pickProducts);
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
      title: t("products.rows"),
      dataIndex: "rowCount",
      align: "right",
      render: (value: number) => format.number(value),
    },
    {
      title: t("products.live"),
      dataIndex: "live",
      render: (live: boolean) => (live ? t("products.yes") : t("products.no")),
    },
    {
      title: t("products.offers"),
      key: "offers",
      align: "right",
      render: (_, product) =>
        format.number(product.offers.filter((offer) => offer.status === "ACTIVE").length),
    },
    {
      title: t("products.dataUpdatedAt"),
      dataIndex: "dataUpdatedAt",
      render: (value: string | null) => <When value={value} />,
    },
  ];
  return (
    <Card title={<CardTitle>{t("products.heading")}</CardTitle>} data-testid="node-products">
      <QueryState
        fetching={fetching}
        error={error}
        hasData={pages.rows.length > 0}
        empty={t("products.empty")}
      >
        <Table<Product>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={pages.rows}
          pagination={false}
          scroll={{ x: true }}
        />
        {pages.hasNext ? (
          <Button style={{ marginTop: 12 }} loading={pages.loading} onClick={pages.loadMore}>
            {t("list.more")}
          </Button>
        ) : null}
      </QueryState>
    </Card>
  );
}

function Installations({ name }: { name: string }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const variables = { node: name, first: PAGE, after: null };
  const [{ data, fetching, error }] = useQuery({ query: HubNodeInstallationsQuery, variables });
  const pages = useLoadMore(
    HubNodeInstallationsQuery,
    variables,
    data?.marketInstallations,
    pickInstallations,
  );
  const columns: ColumnsType<Installation> = [
    {
      title: t("installs.app"),
      key: "app",
      render: (_, row) => {
        const manifest = row.release?.manifestFields;
        return (
          <Space orientation="vertical" size={0}>
            <strong>{manifest?.title ?? manifest?.name ?? t("installs.unknownRelease")}</strong>
            <span>
              {row.release?.version ?? "—"}
              {manifest ? ` · ${manifest.kind}` : ""}
            </span>
          </Space>
        );
      },
    },
    {
      title: t("installs.status"),
      dataIndex: "status",
      render: (status: string, row) => (
        <Space size={4} wrap>
          <Tag color={INSTALL_COLORS[status]}>{t(`installs.states.${status}`)}</Tag>
          {row.pinned ? <Tag>{t("installs.pinned")}</Tag> : null}
        </Space>
      ),
    },
    {
      title: t("installs.detail"),
      dataIndex: "detail",
      render: (value: string | null) => value || "—",
    },
    {
      title: t("installs.createdAt"),
      dataIndex: "createdAt",
      render: (value: string) => format.dateTime(value),
    },
    {
      title: t("installs.updatedAt"),
      dataIndex: "updatedAt",
      render: (value: string) => <When value={value} />,
    },
  ];
  return (
    <Card title={<CardTitle>{t("installs.heading")}</CardTitle>} data-testid="node-installations">
      <QueryState
        fetching={fetching}
        error={error}
        hasData={pages.rows.length > 0}
        empty={t("installs.empty")}
      >
        <Table<Installation>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={pages.rows}
          pagination={false}
          scroll={{ x: true }}
        />
        {pages.hasNext ? (
          <Button style={{ marginTop: 12 }} loading={pages.loading} onClick={pages.loadMore}>
            {t("list.more")}
          </Button>
        ) : null}
      </QueryState>
    </Card>
  );
}

export default function NodePage() {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const { can } = useViewer();
  const name = useParams().name ?? "";
  const { context, latest, apply } = useLiveNodes();
  const [{ data, fetching, error }] = useQuery({
    query: HubNodeQuery,
    variables: { name },
    context,
  });
  const node = data?.regionalNode ? apply([data.regionalNode])[0] : undefined;

  return (
    <>
      <Breadcrumb
        items={[{ title: <Link to="/nodes">{t("list.title")}</Link> }, { title: name }]}
      />
      <Space align="baseline" wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2}>{t("detail.title", { name })}</Typography.Title>
        <LatestEvent event={latest} />
      </Space>
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card>
          <QueryState
            fetching={fetching}
            error={error}
            hasData={!!node}
            empty={t("detail.notFound", { name })}
          >
            {node ? (
              <Descriptions column={{ xs: 1, md: 2 }} size="small" bordered>
                <Descriptions.Item label={t("fields.status")}>
                  <StatusTag status={node.status} />
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.region")}>
                  <Region code={node.region} />
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.industry")}>{node.industry}</Descriptions.Item>
                <Descriptions.Item label={t("fields.version")}>
                  {node.version ? <code>{node.version}</code> : t("fields.noVersion")}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.lastHeartbeat")}>
                  <When value={node.lastHeartbeat} /> ({format.dateTime(node.lastHeartbeat)})
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.registeredAt")}>
                  {format.dateTime(node.registeredAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.baseUrl")} span={2}>
                  <Space wrap>
                    <BaseUrl name={node.name} />
                    {can.moveNodes === true ? <ChangeUrl name={node.name} /> : null}
                  </Space>
                </Descriptions.Item>
              </Descriptions>
            ) : null}
          </QueryState>
        </Card>
        {node ? (
          <>
            {can.readCatalog === false ? (
              <Card
                title={<CardTitle>{t("products.heading")}</CardTitle>}
                data-testid="node-products"
              >
                <Typography.Text type="secondary">{t("products.notAllowed")}</Typography.Text>
              </Card>
            ) : (
              <Products name={node.name} />
            )}
            <Installations name={node.name} />
          </>
        ) : null}
      </Space>
    </>
  );
}
