import {
  App,
  Breadcrumb,
  Button,
  Card,
  Col,
  Descriptions,
  Flex,
  Form,
  Input,
  Rate,
  Row,
  Space,
  Table,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketListingQuery as ListingData } from "../../gql/hub/graphql";
import { MarketListingQuery, MarketRateListing } from "./documents";
import { Entitlements } from "./Entitlements";
import { KindTag, ReleaseStatusTag, VerifiedTag } from "./MarketBits";

type Listing = ListingData["marketListing"];
type Release = Listing["releases"][number];
type Review = Listing["reviews"]["edges"][number]["node"];

function RateForm({ listingId, onRated }: { listingId: string; onRated: () => void }) {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const [form] = Form.useForm<{ rating: number; text?: string }>();
  const [state, rate] = useMutation(MarketRateListing);
  return (
    <Form
      form={form}
      layout="vertical"
      name="rate-listing"
      onFinish={async (values) => {
        const result = await rate({
          listingId,
          rating: values.rating,
          text: values.text?.trim() ?? "",
        });
        if (result.data) {
          message.success(t("reviews.thanks"));
          onRated();
        }
      }}
    >
      <Form.Item
        name="rating"
        label={t("reviews.rating")}
        rules={[
          {
            // Not `required`: a star rating takes no aria-required.
            validator: async (_, value?: number) => {
              if (!value) throw new Error(t("form.required"));
            },
          },
        ]}
      >
        <Rate aria-label={t("reviews.rating")} />
      </Form.Item>
      <Form.Item name="text" label={t("reviews.text")}>
        <Input.TextArea rows={2} maxLength={2000} />
      </Form.Item>
      <Button htmlType="submit" loading={state.fetching}>
        {t("reviews.submit")}
      </Button>
      {state.error ? <ErrorNotice error={state.error} title={t("reviews.failed")} /> : null}
    </Form>
  );
}

export default function ListingPage() {
  const { t } = useTranslation("market");
  const format = useFormat();
  const viewer = useViewer();
  const navigate = useNavigate();
  const { slug = "" } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MarketListingQuery,
    variables: { slug },
  });
  const listing = data?.marketListing;

  const releaseColumns: ColumnsType<Release> = [
    {
      title: t("release.version"),
      dataIndex: "version",
      render: (version: string, release) => (
        <Link to={`/market/releases/${release.id}`}>{version}</Link>
      ),
    },
    {
      title: t("release.status"),
      key: "status",
      render: (_, release) => (
        <Space orientation="vertical" size={0}>
          <ReleaseStatusTag status={release.status} />
          {release.statusReason ? (
            <Typography.Text type="secondary">{release.statusReason}</Typography.Text>
          ) : null}
        </Space>
      ),
    },
    {
      title: t("release.countersigned"),
      dataIndex: "verified",
      render: (verified: boolean) => <VerifiedTag verified={verified} />,
    },
    {
      title: t("search.pricing"),
      key: "pricing",
      render: (_, release) => t(`pricing.${release.manifestFields.pricing.model}`),
    },
    {
      title: t("release.published"),
      dataIndex: "createdAt",
      render: (value: string) => format.dateTime(value),
    },
  ];

  const reviews = listing?.reviews.edges.map((edge) => edge.node) ?? [];
  const ownListing = !!listing && viewer.organization === listing.publisherOrganizationId;
  const latest = listing?.releases.find((r) => r.version === listing.latestVersion);

  return (
    <>
      <Breadcrumb
        items={[
          { title: <Link to="/market">{t("search.title")}</Link> },
          { title: listing?.title ?? slug },
        ]}
      />
      <QueryState fetching={fetching} error={error} hasData={!!listing}>
        {listing ? (
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Flex justify="space-between" align="center" wrap gap={8}>
              <Typography.Title level={2} style={{ margin: 0 }}>
                {listing.title}
              </Typography.Title>
              {latest ? (
                <Button type="primary" onClick={() => navigate(`/market/releases/${latest.id}`)}>
                  {t("listing.openLatest", { version: latest.version })}
                </Button>
              ) : null}
            </Flex>
            <Typography.Paragraph>{listing.summary}</Typography.Paragraph>
            <Descriptions bordered size="small" column={{ xs: 1, md: 2, xl: 3 }}>
              <Descriptions.Item label={t("listing.slug")}>
                <code>{listing.slug}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("search.kind")}>
                <KindTag kind={listing.kind} />
              </Descriptions.Item>
              <Descriptions.Item label={t("search.industry")}>{listing.industry}</Descriptions.Item>
              <Descriptions.Item label={t("search.latest")}>
                {listing.latestVersion ?? "—"}
              </Descriptions.Item>
              <Descriptions.Item label={t("search.license")}>
                {listing.license ?? "—"}
              </Descriptions.Item>
              <Descriptions.Item label={t("listing.compatibility")}>
                <code>{listing.yunfabRange || t("listing.anyVersion")}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("search.verified")}>
                <VerifiedTag verified={listing.verified} />
              </Descriptions.Item>
              <Descriptions.Item label={t("search.pricing")}>
                {listing.free ? t("pricing.FREE") : t("pricing.paid")}
              </Descriptions.Item>
              <Descriptions.Item label={t("listing.publisher")}>
                <code>{listing.publisherOrganizationId}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("listing.tags")}>
                {listing.tags.length ? listing.tags.join(", ") : "—"}
              </Descriptions.Item>
              <Descriptions.Item label={t("listing.updated")}>
                {format.dateTime(listing.updatedAt)}
              </Descriptions.Item>
            </Descriptions>
            <Card title={t("listing.releases")} size="small">
              <Table<Release>
                data-testid="listing-releases"
                rowKey="id"
                size="small"
                columns={releaseColumns}
                dataSource={listing.releases}
                pagination={false}
                scroll={{ x: true }}
              />
            </Card>
            {viewer.can.grantEntitlements === true && ownListing && !listing.free ? (
              <Entitlements listingId={listing.id} />
            ) : null}
            <Row gutter={[16, 16]}>
              <Col xs={24} lg={14}>
                <Card
                  size="small"
                  title={t("reviews.title", {
                    count: listing.ratingCount,
                    average: format.number(listing.ratingAverage, { maximumFractionDigits: 1 }),
                  })}
                >
                  {reviews.length === 0 ? (
                    <Typography.Text type="secondary">{t("reviews.empty")}</Typography.Text>
                  ) : (
                    <Space orientation="vertical" style={{ width: "100%" }}>
                      {reviews.map((review: Review) => (
                        <div key={review.id}>
                          <Space>
                            <Rate
                              disabled
                              value={review.rating}
                              style={{ fontSize: 12 }}
                              aria-label={t("reviews.stars", { count: review.rating })}
                            />
                            <Typography.Text strong>{review.author}</Typography.Text>
                            <Typography.Text type="secondary">
                              {format.dateTime(review.updatedAt)}
                            </Typography.Text>
                          </Space>
                          {review.text ? (
                            <Typography.Paragraph style={{ marginBottom: 0 }}>
                              {review.text}
                            </Typography.Paragraph>
                          ) : null}
                        </div>
                      ))}
                    </Space>
                  )}
                </Card>
              </Col>
              {viewer.can.installToNodes === true ? (
                <Col xs={24} lg={10}>
                  <Card size="small" title={t("reviews.write")}>
                    <Typography.Paragraph type="secondary">{t("reviews.who")}</Typography.Paragraph>
                    <RateForm
                      listingId={listing.id}
                      onRated={() => refetch({ requestPolicy: "network-only" })}
                    />
                  </Card>
                </Col>
              ) : null}
            </Row>
          </Space>
        ) : null}
      </QueryState>
    </>
  );
}
