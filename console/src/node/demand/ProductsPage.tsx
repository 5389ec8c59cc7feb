import { Button, Card, Descriptions, Space, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { DemandProductsQuery } from "../../gql/node/graphql";
import { DemandNav } from "./DemandNav";
import { variantGroups } from "./shaping";
import { useBrand } from "./useBrand";

const DemandProductsDocument = graphql(`
  query DemandProducts($brand: String, $after: String) {
    products(brand: $brand, first: 50, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          brand
          slug
          name
          baseProduct
          minLot
          lotMultiple
          serviceLevel
          frozenWeeks
          autoAcceptUpTo
          bom {
            item
            quantity
            unit
          }
          options {
            name
            kind
            values {
              value
              routing {
                op
                step
                set {
                  process
                }
              }
              bom {
                item
                quantity
                unit
              }
            }
          }
          skus {
            id
            code
            variant
            stockOnHand
            options {
              name
              value
            }
            routing {
              id
              process
            }
          }
        }
      }
    }
  }
`);

type Product = DemandProductsQuery["products"]["edges"][number]["node"];
type Value = Product["options"][number]["values"][number];
type SkuRow = Product["skus"][number];

function ValueTag({ value }: { value: Value }) {
  const { t } = useTranslation("demand");
  const changes = [
    ...value.routing.map((change) =>
      t(`products.change.${change.op}`, { step: change.step, process: change.set?.process ?? "" }),
    ),
    ...value.bom.map((line) =>
      line.quantity === 0
        ? t("products.bomDrop", { item: line.item })
        : t("products.bomLine", { item: line.item, quantity: line.quantity, unit: line.unit }),
    ),
  ];
  return (
    <Tag color={value.routing.length > 0 ? "processing" : undefined}>
      {value.value}
      {changes.length > 0 ? ` · ${changes.join("; ")}` : ""}
    </Tag>
  );
}

function ProductCard({ product, mayEdit }: { product: Product; mayEdit: boolean }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const groups = variantGroups(product.skus);
  return (
    <Card
      title={
        <h3 style={{ margin: 0, fontSize: 16 }}>
          {product.name} <Typography.Text type="secondary">({product.slug})</Typography.Text>
        </h3>
      }
      extra={
        mayEdit ? (
          <Link
            to={`/demand/products/${encodeURIComponent(product.slug)}/edit`}
            data-testid={`edit-product-${product.slug}`}
          >
            {t("edit.editLink")}
          </Link>
        ) : null
      }
      data-testid={`demand-product-${product.slug}`}
    >
      <Descriptions
        size="small"
        column={{ xs: 1, md: 3 }}
        items={[
          { key: "base", label: t("products.baseProduct"), children: product.baseProduct },
          {
            key: "lot",
            label: t("products.lot"),
            children: t("products.lotRule", {
              min: format.number(product.minLot),
              multiple: format.number(product.lotMultiple),
            }),
          },
          {
            key: "service",
            label: t("products.serviceLevel"),
            children: format.number(product.serviceLevel, { style: "percent" }),
          },
          {
            key: "frozen",
            label: t("products.frozenWeeks"),
            children: format.number(product.frozenWeeks),
          },
          {
            key: "auto",
            label: t("products.autoAccept"),
            children:
              product.autoAcceptUpTo === null || product.autoAcceptUpTo === undefined
                ? t("products.autoAcceptOff")
                : t("products.autoAcceptUpTo", { units: format.number(product.autoAcceptUpTo) }),
          },
          {
            key: "bom",
            label: t("products.bom"),
            children:
              product.bom
                .map((line) => `${line.item} ${format.number(line.quantity)} ${line.unit}`)
                .join(", ") || "—",
          },
        ]}
      />
      <Typography.Title level={4} style={{ fontSize: 15 }}>
        {t("products.options")}
      </Typography.Title>
      {product.options.length === 0 ? (
        <Typography.Paragraph type="secondary">{t("products.noOptions")}</Typography.Paragraph>
      ) : (
        <Descriptions
          size="small"
          column={1}
          bordered
          items={product.options.map((option) => ({
            key: option.name,
            label: `${option.name} (${t(`products.kind.${option.kind}`)})`,
            children: (
              <Space wrap size={[4, 4]}>
                {option.values.map((value) => (
                  <ValueTag key={value.value} value={value} />
                ))}
              </Space>
            ),
          }))}
        />
      )}
      <Typography.Title level={4} style={{ fontSize: 15, marginTop: 16 }}>
        {t("products.variants", { count: groups.length })}
      </Typography.Title>
      {groups.length === 0 ? (
        <Typography.Paragraph type="secondary">{t("products.noSkus")}</Typography.Paragraph>
      ) : (
        groups.map((group) => (
          <div key={group.variant} style={{ marginBottom: 12 }} data-testid="demand-variant">
            <Typography.Paragraph style={{ marginBottom: 4 }}>
              <Typography.Text strong>
                {group.variant === ""
                  ? t("products.baseVariant")
                  : t("products.variant", { variant: group.variant })}
              </Typography.Text>{" "}
              <Typography.Text type="secondary">
                {(group.skus[0]?.routing ?? []).map((step) => step.id).join(" → ") ||
                  t("products.routingGone")}
              </Typography.Text>
            </Typography.Paragraph>
            <Table<SkuRow>
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={group.skus}
              columns={[
                { title: t("products.sku"), dataIndex: "code" },
                {
                  title: t("products.choices"),
                  dataIndex: "options",
                  render: (options: SkuRow["options"]) =>
                    options.map((o) => `${o.name}: ${o.value}`).join(", ") || "—",
                },
                {
                  title: t("products.stock"),
                  dataIndex: "stockOnHand",
                  align: "right",
                  render: (value: number) => format.number(value),
                },
              ]}
            />
          </div>
        ))
      )}
    </Card>
  );
}

export default function ProductsPage() {
  const { t } = useTranslation("demand");
  const picker = useBrand();
  const viewer = useViewer();
  const navigate = useNavigate();
  const mayEdit = viewer.can.placeOrders !== false;
  const [{ data, fetching, error }] = useQuery({
    query: DemandProductsDocument,
    variables: { brand: picker.brand, after: null },
    pause: picker.fetching && picker.brands.length === 0,
  });
  const products = data?.products.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <Typography.Title level={2}>{t("products.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Typography.Paragraph type="secondary">{t("products.intro")}</Typography.Paragraph>
      {mayEdit ? (
        <Button
          type="primary"
          data-testid="new-product"
          style={{ marginBottom: 16 }}
          onClick={() =>
            navigate(
              `/demand/products/new${picker.brand ? `?brand=${encodeURIComponent(picker.brand)}` : ""}`,
            )
          }
        >
          {t("edit.newLink")}
        </Button>
      ) : null}
      <QueryState
        fetching={fetching || picker.fetching}
        error={error}
        hasData={products.length > 0}
        empty={t("products.empty")}
      >
        <Space orientation="vertical" size={16} style={{ width: "100%" }}>
          {products.map((product) => (
            <ProductCard key={product.id} product={product} mayEdit={mayEdit} />
          ))}
        </Space>
      </QueryState>
    </>
  );
}
