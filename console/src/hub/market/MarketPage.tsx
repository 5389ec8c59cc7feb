import { Card, Checkbox, Col, Flex, Input, Radio, Rate, Row, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { MarketSearchQuery as Search } from "../../gql/hub/graphql";
import { MarketSearchQuery } from "./documents";
import { KindTag, VerifiedTag } from "./MarketBits";
import { filtersOf, withParams } from "./market";

type Listing = Search["marketListings"]["listings"]["edges"][number]["node"];
type Facet = { value: string; count: number };

const PAGE = 20;
const ALL = "";

function FacetGroup({
  name,
  label,
  facets,
  value,
  render,
  onChange,
}: {
  name: string;
  label: string;
  facets: Facet[];
  value: string | null;
  render: (value: string) => string;
  onChange: (value: string | null) => void;
}) {
  const { t } = useTranslation("market");
  const id = `facet-${name}`;
  return (
    <div style={{ marginBottom: 16 }}>
      <Typography.Text strong id={id}>
        {label}
      </Typography.Text>
      <Radio.Group
        aria-labelledby={id}
        value={value ?? ALL}
        onChange={(event) => onChange(event.target.value || null)}
        style={{ display: "flex", flexDirection: "column", marginTop: 4 }}
        data-testid={id}
        options={[
          { value: ALL, label: t("search.any") },
          ...facets.map((facet) => ({
            value: facet.value,
            label: `${render(facet.value)} (${facet.count})`,
          })),
          // A filter from a link that matches nothing still shows as chosen.
          ...(value && !facets.some((f) => f.value === value)
            ? [{ value, label: `${render(value)} (0)` }]
            : []),
        ]}
      />
    </div>
  );
}

export default function MarketPage() {
  const { t } = useTranslation("market");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const pages = useCursorPages();
  const { reset } = pages;
  const key = params.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new address starts at page one
  useEffect(() => reset(), [key, reset]);

  const [{ data, fetching, error }] = useQuery({
    query: MarketSearchQuery,
    variables: { ...filters, first: PAGE, after: pages.after },
  });
  const result = data?.marketListings;
  const rows = result?.listings.edges.map((edge) => edge.node) ?? [];
  const update = (changes: Record<string, string | null>) => setParams(withParams(params, changes));
  const verifiedCount = result?.facets.verified.find((f) => f.value === "true")?.count ?? 0;

  const columns: ColumnsType<Listing> = [
    {
      title: t("search.listing"),
      key: "title",
      render: (_, listing) => (
        <Space orientation="vertical" size={0}>
          <Link to={`/market/listings/${encodeURIComponent(listing.slug)}`}>
            <strong>{listing.title}</strong>
          </Link>
          <Typography.Text type="secondary">{listing.summary}</Typography.Text>
          <code>{listing.slug}</code>
        </Space>
      ),
    },
    {
      title: t("search.kind"),
      dataIndex: "kind",
      render: (kind: string) => <KindTag kind={kind} />,
    },
    { title: t("search.industry"), dataIndex: "industry" },
    {
      title: t("search.latest"),
      dataIndex: "latestVersion",
      render: (v: string | null) => v ?? "—",
    },
    { title: t("search.license"), dataIndex: "license", render: (v: string | null) => v ?? "—" },
    {
      title: t("search.pricing"),
      dataIndex: "free",
      render: (free: boolean) => (free ? t("pricing.FREE") : t("pricing.paid")),
    },
    {
      title: t("search.verified"),
      dataIndex: "verified",
      render: (verified: boolean) => <VerifiedTag verified={verified} />,
    },
    {
      title: t("search.rating"),
      key: "rating",
      render: (_, listing) =>
        listing.ratingCount > 0 ? (
          <Space size={4}>
            <Rate
              disabled
              allowHalf
              value={Math.round((listing.ratingAverage ?? 0) * 2) / 2}
              style={{ fontSize: 12 }}
              aria-label={t("search.ratingOf", {
                rating: format.number(listing.ratingAverage, { maximumFractionDigits: 1 }),
              })}
            />
            <Typography.Text type="secondary">
              ({format.number(listing.ratingCount)})
            </Typography.Text>
          </Space>
        ) : (
          "—"
        ),
    },
  ];

  return (
    <>
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={2}>{t("search.title")}</Typography.Title>
      </Flex>
      <Input.Search
        key={filters.search ?? ""}
        defaultValue={filters.search ?? ""}
        placeholder={t("search.placeholder")}
        aria-label={t("search.placeholder")}
        allowClear
        enterButton={t("search.go")}
        maxLength={100}
        onSearch={(value) => update({ q: value.trim() || null })}
        style={{ maxWidth: 560, marginBottom: 16 }}
        data-testid="market-search"
      />
      <Row gutter={[16, 16]}>
        <Col xs={24} md={7} lg={6}>
          <Card size="small" title={t("search.facets")}>
            <Checkbox
              checked={filters.verifiedOnly}
              onChange={(event) => update({ verified: event.target.checked ? "1" : null })}
              style={{ marginBottom: 16 }}
            >
              {t("search.verifiedOnly")} ({format.number(verifiedCount)})
            </Checkbox>
            <FacetGroup
              name="kind"
              label={t("search.kind")}
              facets={result?.facets.kind ?? []}
              value={filters.kind}
              render={(value) => t(`kinds.${value}`, { defaultValue: value })}
              onChange={(value) => update({ kind: value })}
            />
            <FacetGroup
              name="industry"
              label={t("search.industry")}
              facets={result?.facets.industry ?? []}
              value={filters.industry}
              render={(value) => value}
              onChange={(value) => update({ industry: value })}
            />
            <FacetGroup
              name="license"
              label={t("search.license")}
              facets={result?.facets.license ?? []}
              value={filters.license}
              render={(value) => value}
              onChange={(value) => update({ license: value })}
            />
          </Card>
        </Col>
        <Col xs={24} md={17} lg={18}>
          <Card
            size="small"
            title={
              result?.listings.totalCount !== undefined && result.listings.totalCount !== null
                ? t("search.count", { count: result.listings.totalCount })
                : t("search.results")
            }
          >
            <QueryState
              fetching={fetching}
              error={error}
              hasData={rows.length > 0}
              empty={t("search.empty")}
            >
              <Table<Listing>
                data-testid="market-listings"
                rowKey="id"
                columns={columns}
                dataSource={rows}
                pagination={false}
                scroll={{ x: true }}
              />
            </QueryState>
            <CursorPager pages={pages} pageInfo={result?.listings.pageInfo} />
          </Card>
        </Col>
      </Row>
    </>
  );
}
