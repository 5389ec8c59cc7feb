import {
  Alert,
  Breadcrumb,
  Card,
  Col,
  Descriptions,
  Flex,
  Row,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { MarketReleaseFieldsFragment } from "../../gql/hub/graphql";
import { MarketListingByIdQuery, MarketReleaseQuery } from "./documents";
import { InstallationFollow } from "./InstallationFollow";
import { Json, KindTag, Opaque, ReleaseStatusTag, VerifiedTag } from "./MarketBits";
import { mayChangeRelease, withParams } from "./market";
import { ChangeStatus, CountersignButton, InstallButton } from "./ReleaseActions";

type Release = MarketReleaseFieldsFragment;
type Countersignature = Release["countersignatures"][number];

function Pricing({ pricing }: { pricing: Release["manifestFields"]["pricing"] }) {
  const { t } = useTranslation("market");
  const format = useFormat();
  const price =
    pricing.priceCny !== null && pricing.priceCny !== undefined
      ? format.number(pricing.priceCny, { style: "currency", currency: "CNY" })
      : null;
  switch (pricing.model) {
    case "PER_NODE":
      return <>{t("pricing.perNode", { price })}</>;
    case "SUBSCRIPTION":
      return <>{t("pricing.subscription", { price, days: pricing.periodDays })}</>;
    case "USAGE":
      return (
        <>{t("pricing.usage", { unit: pricing.unit, included: format.number(pricing.included) })}</>
      );
    default:
      return <>{t("pricing.FREE")}</>;
  }
}

export default function ReleasePage() {
  const { t } = useTranslation("market");
  const format = useFormat();
  const viewer = useViewer();
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MarketReleaseQuery,
    variables: { id },
  });
  const release = data?.marketRelease;
  const [listingResult] = useQuery({
    query: MarketListingByIdQuery,
    variables: { id: release?.listingId ?? "" },
    pause: !release,
  });
  const listing = listingResult.data?.marketListing;
  const manifest = release?.manifestFields;
  const label = release ? `${manifest?.name ?? ""} ${release.version}` : "";
  const following = params.get("installation");
  const followingNode = params.get("node");
  const reload = () => refetch({ requestPolicy: "network-only" });

  const countersignatureColumns = [
    { title: t("signatures.reviewer"), dataIndex: "reviewer" },
    {
      title: t("signatures.keyId"),
      dataIndex: "keyId",
      render: (value: string) => <code>{value}</code>,
    },
    {
      title: t("signatures.signature"),
      dataIndex: "signature",
      render: (value: string) => <Opaque value={value} />,
    },
    {
      title: t("signatures.at"),
      dataIndex: "createdAt",
      render: (value: string) => format.dateTime(value),
    },
  ];

  return (
    <>
      <Breadcrumb
        items={[
          { title: <Link to="/market">{t("search.title")}</Link> },
          listing
            ? {
                title: (
                  <Link to={`/market/listings/${encodeURIComponent(listing.slug)}`}>
                    {listing.title}
                  </Link>
                ),
              }
            : { title: "…" },
          { title: release?.version ?? id },
        ]}
      />
      <QueryState fetching={fetching} error={error} hasData={!!release}>
        {release && manifest ? (
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Flex justify="space-between" align="center" wrap gap={8}>
              <Space wrap>
                <Typography.Title level={2} style={{ margin: 0 }}>
                  {manifest.title ?? manifest.name} {release.version}
                </Typography.Title>
                <ReleaseStatusTag status={release.status} />
                <VerifiedTag verified={release.verified} />
              </Space>
              <Space wrap data-testid="release-actions">
                {viewer.can.installToNodes === true && release.status !== "REVOKED" ? (
                  <InstallButton
                    releaseId={release.id}
                    label={label}
                    onRequested={(installation, node) =>
                      setParams(withParams(params, { installation, node }))
                    }
                  />
                ) : null}
                {viewer.can.reviewReleases === true ? (
                  <CountersignButton releaseId={release.id} label={label} onSigned={reload} />
                ) : null}
                {listing &&
                mayChangeRelease(
                  viewer.can,
                  viewer.organization,
                  listing.publisherOrganizationId,
                ) ? (
                  <ChangeStatus
                    releaseId={release.id}
                    label={label}
                    status={release.status}
                    onChanged={reload}
                  />
                ) : null}
              </Space>
            </Flex>
            {release.status !== "PUBLISHED" ? (
              <Alert
                type={release.status === "REVOKED" ? "error" : "warning"}
                showIcon
                title={t(`releaseStatus.${release.status}`)}
                description={
                  <>
                    {t(`releaseStatusExplain.${release.status}`)}{" "}
                    {release.statusReason ? <strong>{release.statusReason}</strong> : null}
                    {release.statusChangedAt
                      ? ` (${format.dateTime(release.statusChangedAt)})`
                      : ""}
                  </>
                }
              />
            ) : null}
            {following && followingNode ? (
              <InstallationFollow node={followingNode} installationId={following} />
            ) : null}
            <Typography.Paragraph>{manifest.summary}</Typography.Paragraph>
            {manifest.description ? (
              <Typography.Paragraph type="secondary">{manifest.description}</Typography.Paragraph>
            ) : null}
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={12}>
                <Card size="small" title={t("release.about")}>
                  <Descriptions size="small" column={1} bordered>
                    <Descriptions.Item label={t("listing.slug")}>
                      <code>{manifest.name}</code>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("search.kind")}>
                      <KindTag kind={manifest.kind} />
                    </Descriptions.Item>
                    <Descriptions.Item label={t("search.industry")}>
                      {manifest.industry || "—"}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("listing.compatibility")}>
                      <code>{manifest.yunfab || t("listing.anyVersion")}</code>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("search.license")}>
                      <Tooltip title={t("release.licenseHelp")}>
                        <Tag>{manifest.license}</Tag>
                      </Tooltip>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("release.permissions")}>
                      <Space orientation="vertical" size={2}>
                        {manifest.permissions.length === 0
                          ? t("release.noPermissions")
                          : manifest.permissions.map((permission) => (
                              <span key={permission}>
                                <Tag color="processing">{permission}</Tag>
                                {t(`permissions.${permission}`, { defaultValue: "" })}
                              </span>
                            ))}
                      </Space>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("search.pricing")}>
                      <Pricing pricing={manifest.pricing} />
                    </Descriptions.Item>
                    <Descriptions.Item label={t("listing.tags")}>
                      {manifest.tags.length ? manifest.tags.join(", ") : "—"}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("release.content")}>
                      <Json value={manifest.content} />
                    </Descriptions.Item>
                    <Descriptions.Item label={t("release.published")}>
                      {format.dateTime(release.createdAt)} · {release.publishedBy}
                    </Descriptions.Item>
                  </Descriptions>
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card size="small" title={t("signatures.title")} data-testid="signatures">
                  <Descriptions size="small" column={1} bordered>
                    <Descriptions.Item label={t("signatures.artifact")}>
                      <Opaque value={release.artifactSha256} />
                    </Descriptions.Item>
                    <Descriptions.Item label={t("signatures.size")}>
                      {format.number(release.artifactSize)} B
                    </Descriptions.Item>
                    <Descriptions.Item label={t("signatures.publisherKey")}>
                      <code>{release.keyId}</code>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("signatures.publisherSignature")}>
                      <Opaque value={release.signature} />
                    </Descriptions.Item>
                  </Descriptions>
                  <Typography.Title level={5} style={{ marginTop: 16 }}>
                    {t("signatures.countersignatures")}
                  </Typography.Title>
                  {release.countersignatures.length === 0 ? (
                    <Typography.Text type="secondary">{t("signatures.none")}</Typography.Text>
                  ) : (
                    <Table<Countersignature>
                      rowKey="keyId"
                      size="small"
                      columns={countersignatureColumns}
                      dataSource={release.countersignatures}
                      pagination={false}
                      scroll={{ x: true }}
                    />
                  )}
                </Card>
              </Col>
            </Row>
            <Card size="small" title={t("release.manifest")}>
              <Typography.Paragraph type="secondary">
                {t("release.manifestHelp")}
              </Typography.Paragraph>
              <Json value={release.manifest} />
            </Card>
            {listing ? (
              <Link to={`/market/listings/${encodeURIComponent(listing.slug)}`}>
                {t("release.toListing")}
              </Link>
            ) : null}
          </Space>
        ) : null}
      </QueryState>
    </>
  );
}
