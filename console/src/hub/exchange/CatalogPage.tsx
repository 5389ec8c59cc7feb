import { Button, Card, Col, Empty, Flex, Input, List, Row, Space, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { ExchangeCatalogQuery } from "../../gql/hub/graphql";
import { CatalogDocument } from "./documents";

type Product = ExchangeCatalogQuery["dataProducts"]["edges"][number]["node"];
type Facet = { value: string; count: number };

const PAGE = 20;
const FACETS = ["industry", "region", "field"] as const;
type FacetName = (typeof FACETS)[number];

export default function CatalogPage() {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const chosen: Record<FacetName, string | null> = {
    industry: params.get("industry"),
    region: params.get("region"),
    field: params.get("field"),
  };
  const after = params.get("after");

  const [{ data, fetching, error }] = useQuery({
    query: CatalogDocument,
    variables: {
      search: search.trim() || null,
      industry: chosen.industry,
      region: chosen.region,
      field: chosen.field,
      first: PAGE,
      after,
    },
  });
  const products = data?.dataProducts;
  const rows = products?.edges.map((edge) => edge.node) ?? [];
  const facets = data?.dataCatalogFacets;

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!("after" in changes)) next.delete("after");
    setParams(next);
  };

  const facetValues = (name: FacetName): readonly Facet[] =>
    (name === "field" ? facets?.fields : facets?.[name]) ?? [];
  const facetTitle = (name: FacetName) =>
    t(name === "field" ? "catalog.fields" : `catalog.${name}`);
  const filtered = FACETS.some((name) => chosen[name]) || search.trim() !== "";

  return (
    <>
      <Typography.Title level={2}>{t("catalog.title")}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={6}>
          <Card title={t("catalog.facets")} size="small">
            {FACETS.map((name) => (
              <section key={name} aria-label={facetTitle(name)} style={{ marginBottom: 16 }}>
                <Typography.Title level={5}>{facetTitle(name)}</Typography.Title>
                <Flex wrap gap={6} data-testid={`facet-${name}`}>
                  {facetValues(name).length === 0 ? (
                    <Typography.Text type="secondary">—</Typography.Text>
                  ) : null}
                  {facetValues(name).map((facet) => {
                    const on = chosen[name] === facet.value;
                    return (
                      <Button
                        key={facet.value}
                        size="small"
                        type={on ? "primary" : "default"}
                        aria-pressed={on}
                        aria-label={t("catalog.filterBy", {
                          facet: facetTitle(name),
                          value: facet.value,
                          count: facet.count,
                        })}
                        onClick={() => update({ [name]: on ? null : facet.value })}
                      >
                        {facet.value} ({format.number(facet.count)})
                      </Button>
                    );
                  })}
                </Flex>
              </section>
            ))}
            {filtered ? (
              <Button onClick={() => setParams(new URLSearchParams())}>{t("catalog.clear")}</Button>
            ) : null}
          </Card>
        </Col>
        <Col xs={24} lg={18}>
          <Card>
            <Space wrap style={{ marginBottom: 16 }}>
              <Input.Search
                key={search}
                aria-label={t("catalog.search")}
                placeholder={t("catalog.searchPlaceholder")}
                defaultValue={search}
                allowClear
                enterButton={t("catalog.searchButton")}
                onSearch={(value) => update({ q: value.trim() || null })}
                style={{ width: 360 }}
              />
              {products ? (
                <Typography.Text type="secondary" data-testid="catalog-total">
                  {t("catalog.total", {
                    count: products.totalCount,
                    formatted: format.number(products.totalCount),
                  })}
                </Typography.Text>
              ) : null}
            </Space>
            <QueryState
              fetching={fetching}
              error={error}
              hasData={data !== undefined}
              empty={t("catalog.empty")}
            >
              {rows.length === 0 ? (
                <Empty description={t("catalog.empty")} />
              ) : (
                <List<Product>
                  itemLayout="vertical"
                  rowKey="id"
                  dataSource={rows}
                  renderItem={(product) => <ProductItem product={product} />}
                />
              )}
              <Space style={{ marginTop: 16 }}>
                {after ? (
                  <Button onClick={() => update({ after: null })}>{t("catalog.firstPage")}</Button>
                ) : null}
                {products?.pageInfo.hasNextPage ? (
                  <Button onClick={() => update({ after: products.pageInfo.endCursor ?? null })}>
                    {t("catalog.nextPage")}
                  </Button>
                ) : null}
              </Space>
            </QueryState>
          </Card>
        </Col>
      </Row>
    </>
  );
}

function ProductItem({ product }: { product: Product }) {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const aggregatesOnly = product.offers.some((offer) => offer.policy.aggregation);
  const automatic = product.offers.some((offer) => offer.policy.approval === "AUTOMATIC");
  return (
    <List.Item key={product.id} data-testid="catalog-product">
      <List.Item.Meta
        title={<Link to={`/exchange/products/${product.id}`}>{product.title}</Link>}
        description={
          <Space wrap size={[4, 4]}>
            <Typography.Text code>{product.key}</Typography.Text>
            <Tag>{product.industry}</Tag>
            <Tag>{product.region}</Tag>
            {product.node ? <Tag>{product.node}</Tag> : null}
            <Tag>{t(`frequency.${product.updateFrequency}`, product.updateFrequency)}</Tag>
            <Tag>{t("catalog.fieldCount", { count: product.schema.length })}</Tag>
          </Space>
        }
      />
      <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ marginBottom: 8 }}>
        {product.description}
      </Typography.Paragraph>
      <Space wrap size={[4, 4]}>
        {product.offers.length === 0 ? (
          <Tag>{t("catalog.noOffer")}</Tag>
        ) : (
          <Tag color="processing">{t("catalog.offers", { count: product.offers.length })}</Tag>
        )}
        {aggregatesOnly ? <Tag color="processing">{t("catalog.aggregatesOnly")}</Tag> : null}
        {automatic ? <Tag color="success">{t("catalog.automatic")}</Tag> : null}
        {product.offers.some((offer) => offer.policy.approval === "PROVIDER") ? (
          <Tag color="warning">{t("catalog.byProvider")}</Tag>
        ) : null}
        <Typography.Text type="secondary">
          {t("catalog.rows", { formatted: format.number(product.rowCount) })}
          {product.dataUpdatedAt
            ? ` · ${t("catalog.updated", { when: format.relative(product.dataUpdatedAt) })}`
            : null}
        </Typography.Text>
      </Space>
    </List.Item>
  );
}
