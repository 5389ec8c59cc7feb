import { PlusOutlined } from "@ant-design/icons";
import { Button, Card, Flex, Input, Select, Space, Table, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { OrderStage, OrdersListQuery } from "../../gql/node/graphql";
import { StageTag } from "./StageTag";
import { isStage, STAGES } from "./shaping";

const OrdersListDocument = graphql(`
  query OrdersList($stage: OrderStage, $numberPrefix: String, $first: Int!, $after: String) {
    orders(stage: $stage, numberPrefix: $numberPrefix, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          number
          buyerOrg
          buyerReference
          product
          quantity
          stage
          status
          dueDate
          createdAt
        }
      }
    }
  }
`);

type Row = OrdersListQuery["orders"]["edges"][number]["node"];

const PAGE = 20;
const ALL = "ALL";

export default function OrdersListPage() {
  const { t } = useTranslation("orders");
  const format = useFormat();
  const viewer = useViewer();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const stageParam = params.get("stage");
  const stage = isStage(stageParam) ? (stageParam as OrderStage) : null;
  const search = params.get("q") ?? "";
  const after = params.get("after");

  const [{ data, fetching, error }] = useQuery({
    query: OrdersListDocument,
    variables: { stage, numberPrefix: search.trim() || null, first: PAGE, after },
  });
  const orders = data?.orders;
  const rows = orders?.edges.map((edge) => edge.node) ?? [];

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
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={2}>{t("list.title")}</Typography.Title>
        {viewer.can.placeOrders === true ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate("/orders/new")}>
            {t("list.place")}
          </Button>
        ) : null}
      </Flex>
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Input.Search
            aria-label={t("list.search")}
            placeholder={t("list.searchPlaceholder")}
            defaultValue={search}
            allowClear
            enterButton={t("list.searchButton")}
            onSearch={(value) => update({ q: value.trim() || null })}
            style={{ width: 360 }}
            data-testid="orders-search"
          />
          <Select
            aria-label={t("list.stage")}
            showSearch={{ optionFilterProp: "label" }}
            value={stage ?? ALL}
            onChange={(value: string) => update({ stage: value === ALL ? null : value })}
            style={{ width: 200 }}
            options={[
              { value: ALL, label: t("list.allStages") },
              ...STAGES.map((s) => ({ value: s, label: t(`stages.${s}`) })),
            ]}
          />
          {orders?.totalCount !== null && orders?.totalCount !== undefined ? (
            <Typography.Text type="secondary">
              {t("list.total", {
                count: orders.totalCount,
                formatted: format.number(orders.totalCount),
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
            onRow={(row) => ({ onDoubleClick: () => navigate(`/orders/${row.number}`) })}
            columns={[
              {
                title: t("fields.number"),
                dataIndex: "number",
                render: (value: string) => <Link to={`/orders/${value}`}>{value}</Link>,
              },
              {
                title: t("fields.buyer"),
                dataIndex: "buyerOrg",
                render: (value: string, row) => (
                  <>
                    {value}
                    {row.buyerReference ? (
                      <Typography.Text type="secondary"> · {row.buyerReference}</Typography.Text>
                    ) : null}
                  </>
                ),
              },
              { title: t("fields.product"), dataIndex: "product" },
              {
                title: t("fields.quantity"),
                dataIndex: "quantity",
                align: "right",
                render: (value: number) => format.number(value),
              },
              {
                title: t("fields.stage"),
                dataIndex: "stage",
                render: (value: string, row) => <StageTag stage={value} status={row.status} />,
              },
              {
                title: t("fields.dueDate"),
                dataIndex: "dueDate",
                render: (value: string) => format.date(value),
              },
              {
                title: t("fields.createdAt"),
                dataIndex: "createdAt",
                render: (value: string) => format.dateTime(value),
              },
            ]}
          />
          <Space style={{ marginTop: 16 }}>
            {after ? (
              <Button onClick={() => update({ after: null })}>{t("list.firstPage")}</Button>
            ) : null}
            {orders?.pageInfo.hasNextPage ? (
              <Button onClick={() => update({ after: orders.pageInfo.endCursor ?? null })}>
                {t("list.nextPage")}
              </Button>
            ) : null}
          </Space>
        </QueryState>
      </Card>
    </>
  );
}
