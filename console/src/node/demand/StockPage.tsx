import { Alert, Button, Card, InputNumber, Space, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { DemandStockQuery } from "../../gql/node/graphql";
import { DemandNav } from "./DemandNav";
import { type FormProblem, MAX_STOCK, stockChanges } from "./editing";
import { useBrand } from "./useBrand";

const DemandStockDocument = graphql(`
  query DemandStock($brand: String) {
    products(brand: $brand, first: 100) {
      edges {
        node {
          id
          slug
          name
          skus {
            id
            code
            variant
            stockOnHand
            stockAt
            options {
              name
              value
            }
          }
        }
      }
    }
  }
`);

const SetStockDocument = graphql(`
  mutation SetStock($brand: String, $stock: [StockInput!]!) {
    setStock(brand: $brand, stock: $stock) {
      __typename
      ... on SetStockSuccess {
        skus {
          id
          code
          stockOnHand
          stockAt
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

type Product = DemandStockQuery["products"]["edges"][number]["node"];
type Row = Product["skus"][number] & { product: string };

/** Stock on hand per SKU, as the brand counts it: what plans net the forecast against. */
export default function StockPage() {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const viewer = useViewer();
  const picker = useBrand();
  const [{ data, fetching, error }, refresh] = useQuery({
    query: DemandStockDocument,
    variables: { brand: picker.brand },
    pause: picker.fetching && picker.brands.length === 0,
  });
  const [saving, save] = useMutation(SetStockDocument);
  const [edited, setEdited] = useState<Record<string, number | null>>({});
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const mayEdit = viewer.can.placeOrders !== false;

  const rows: Row[] =
    data?.products.edges.flatMap((edge) =>
      edge.node.skus.map((sku) => ({ ...sku, product: edge.node.name })),
    ) ?? [];

  const submit = async () => {
    setRefusal(null);
    setFailure(null);
    setSaved(null);
    const { stock, problems: found } = stockChanges(rows, edited);
    setProblems(found);
    if (found.length > 0) return;
    const result = await save({ brand: picker.brand, stock });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.setStock;
    if (answer?.__typename === "SetStockSuccess") {
      setEdited({});
      setSaved(answer.skus.length);
      refresh({ requestPolicy: "network-only" });
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };

  const problemOf = (id: string) => problems.find((p) => p.path === id);

  return (
    <>
      <Typography.Title level={2}>{t("stock.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Typography.Paragraph type="secondary">{t("stock.intro")}</Typography.Paragraph>
      <Card>
        <QueryState
          fetching={fetching || picker.fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("stock.empty")}
        >
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Table<Row>
              data-testid="stock-table"
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={rows}
              scroll={{ x: 800 }}
              columns={[
                { title: t("stock.product"), dataIndex: "product" },
                { title: t("products.sku"), dataIndex: "code" },
                {
                  title: t("products.choices"),
                  dataIndex: "options",
                  render: (options: Row["options"]) =>
                    options.map((o) => `${o.name}: ${o.value}`).join(", ") || "—",
                },
                {
                  title: t("products.stock"),
                  key: "stock",
                  align: "right",
                  render: (_: unknown, row) => {
                    const problem = problemOf(row.id);
                    const value = row.id in edited ? edited[row.id] : row.stockOnHand;
                    return mayEdit ? (
                      <Space orientation="vertical" size={0} style={{ alignItems: "flex-end" }}>
                        <InputNumber<number>
                          aria-label={t("stock.onHandOf", { sku: row.code })}
                          data-testid={`stock-${row.code}`}
                          min={0}
                          max={MAX_STOCK}
                          value={value}
                          status={problem ? "error" : undefined}
                          onChange={(next) => setEdited((was) => ({ ...was, [row.id]: next }))}
                        />
                        {problem ? (
                          <Typography.Text type="danger">
                            {t(`edit.errors.${problem.key}`, problem.values)}
                          </Typography.Text>
                        ) : null}
                      </Space>
                    ) : (
                      format.number(row.stockOnHand)
                    );
                  },
                },
                {
                  title: t("stock.countedAt"),
                  dataIndex: "stockAt",
                  render: (value: string | null) => format.dateTime(value),
                },
              ]}
            />
            {problems.some((p) => p.path === "") ? (
              <Alert type="info" showIcon title={t("edit.errors.nothingChanged")} />
            ) : null}
            {refusal ? (
              <Alert
                type="error"
                showIcon
                data-testid="demand-refusal"
                title={t("stock.refused")}
                description={
                  <>
                    {refusal.message} <code>{refusal.code}</code>
                  </>
                }
              />
            ) : null}
            {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
            {saved !== null ? (
              <Alert
                type="success"
                showIcon
                role="status"
                data-testid="stock-saved"
                title={t("stock.saved", { count: saved })}
              />
            ) : null}
            {mayEdit ? (
              <Space>
                <Button
                  type="primary"
                  onClick={submit}
                  loading={saving.fetching}
                  data-testid="stock-save"
                >
                  {t("stock.save")}
                </Button>
                <Button
                  onClick={() => {
                    setEdited({});
                    setProblems([]);
                  }}
                >
                  {t("edit.reset")}
                </Button>
              </Space>
            ) : null}
          </Space>
        </QueryState>
      </Card>
    </>
  );
}
