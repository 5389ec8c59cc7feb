import {
  Badge,
  Card,
  Col,
  Descriptions,
  Empty,
  Row,
  Segmented,
  Space,
  Switch,
  Table,
  type TableColumnsType,
  Tag,
  Typography,
} from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery, useSubscription } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type {
  StationInspectionsSubscription,
  VisionQualityRecordsQuery,
} from "../../gql/node/graphql";
import { InspectionCanvas } from "./InspectionCanvas";
import { modelLabel } from "./labels";
import { VisionNav } from "./VisionNav";

const VisionStation = graphql(`
  query VisionStation($id: UUID!) {
    station(id: $id) {
      id
      factoryId
      slug
      name
      keepImages
      updatedAt
      privacy {
        mode
      }
      model {
        id
        sku
        number
        kind
      }
    }
  }
`);

const QualityRecords = graphql(`
  query VisionQualityRecords($factoryId: UUID!, $stationId: UUID!, $verdict: String) {
    qualityRecords(factoryId: $factoryId, stationId: $stationId, verdict: $verdict, first: 50) {
      totalCount
      edges {
        node {
          id
          sku
          batch
          part
          score
          verdict
          defectClass
          width
          height
          imageKept
          inspectedAt
          boxes {
            x
            y
            w
            h
            peak
          }
        }
      }
    }
  }
`);

const StationInspections = graphql(`
  subscription StationInspections($stationId: UUID!) {
    stationInspections(stationId: $stationId) {
      heatmapPng
      imagePath
      imageThreshold
      totalMs
      peopleMasked
      record {
        id
        sku
        batch
        part
        score
        verdict
        defectClass
        width
        height
        inspectedAt
        boxes {
          x
          y
          w
          h
          peak
        }
      }
    }
  }
`);

type Inspected = StationInspectionsSubscription["stationInspections"];
type RecordRow = VisionQualityRecordsQuery["qualityRecords"]["edges"][number]["node"];

/** The feed keeps the last few parts on screen. */
const FEED_SIZE = 12;

const VERDICT_COLORS: Record<string, string> = {
  good: "success",
  defective: "error",
  uncalibrated: "warning",
};

function VerdictTag({ verdict }: { verdict: string }) {
  const { t } = useTranslation("vision");
  return (
    <Tag color={VERDICT_COLORS[verdict] ?? "default"} data-testid="verdict">
      {t(`verdict.${verdict}`, { defaultValue: verdict })}
    </Tag>
  );
}

function FeedCard({ item, showHeatmap }: { item: Inspected; showHeatmap: boolean }) {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const record = item.record;
  return (
    <Card size="small" data-testid="feed-item">
      <InspectionCanvas
        imagePath={item.imagePath}
        heatmapPng={item.heatmapPng}
        boxes={record.boxes}
        width={record.width}
        height={record.height}
        showHeatmap={showHeatmap}
        label={t("feed.canvasLabel", {
          part: record.part ?? record.id.slice(0, 8),
          verdict: t(`verdict.${record.verdict}`, { defaultValue: record.verdict }),
          boxes: record.boxes.length,
        })}
      />
      <Space wrap style={{ marginTop: 8 }}>
        <VerdictTag verdict={record.verdict} />
        {record.defectClass ? <Tag>{record.defectClass}</Tag> : null}
        <Typography.Text>
          {t("feed.score", { score: format.number(record.score, { maximumFractionDigits: 3 }) })}
        </Typography.Text>
      </Space>
      <Descriptions column={1} size="small" style={{ marginTop: 4 }}>
        <Descriptions.Item label={t("records.batch")}>{record.batch ?? "—"}</Descriptions.Item>
        <Descriptions.Item label={t("records.boxes")}>
          {format.number(record.boxes.length)}
        </Descriptions.Item>
        <Descriptions.Item label={t("feed.time")}>
          {t("feed.timing", {
            at: format.dateTime(record.inspectedAt),
            ms: format.number(item.totalMs, { maximumFractionDigits: 0 }),
          })}
        </Descriptions.Item>
        {item.peopleMasked > 0 ? (
          <Descriptions.Item label={t("feed.peopleMasked")}>
            {format.number(item.peopleMasked)}
          </Descriptions.Item>
        ) : null}
      </Descriptions>
    </Card>
  );
}

export default function StationPage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const viewer = useViewer();
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const verdict = params.get("verdict");
  const [showHeatmap, setShowHeatmap] = useState(true);
  const [{ data, fetching, error }] = useQuery({ query: VisionStation, variables: { id } });
  const station = data?.station;
  const [records, refetchRecords] = useQuery({
    query: QualityRecords,
    variables: { factoryId: station?.factoryId ?? "", stationId: id, verdict },
    pause: !station,
  });
  const [feed] = useSubscription(
    { query: StationInspections, variables: { stationId: id }, pause: !station },
    (previous: Inspected[] | undefined, event) =>
      [event.stationInspections, ...(previous ?? [])].slice(0, FEED_SIZE),
  );
  const items = feed.data ?? [];
  // Each part the feed brings is a new quality record: the list below follows.
  const latest = items[0]?.record.id;
  useEffect(() => {
    if (latest) refetchRecords({ requestPolicy: "network-only" });
  }, [latest, refetchRecords]);
  const query = station ? `?factory=${encodeURIComponent(station.factoryId)}` : "";
  const rows = records.data?.qualityRecords.edges.map((e) => e.node) ?? [];
  const mayImages = viewer.can.readVisionImages !== false;

  const columns: TableColumnsType<RecordRow> = [
    {
      title: t("records.inspectedAt"),
      key: "at",
      render: (_, r) => format.dateTime(r.inspectedAt),
    },
    {
      title: t("records.verdict"),
      key: "verdict",
      render: (_, r) => <VerdictTag verdict={r.verdict} />,
    },
    {
      title: t("records.score"),
      key: "score",
      render: (_, r) => format.number(r.score, { maximumFractionDigits: 3 }),
    },
    { title: t("records.defectClass"), key: "class", render: (_, r) => r.defectClass ?? "—" },
    { title: t("records.sku"), dataIndex: "sku", key: "sku" },
    { title: t("records.batch"), key: "batch", render: (_, r) => r.batch ?? "—" },
    { title: t("records.part"), key: "part", render: (_, r) => r.part ?? "—" },
    { title: t("records.boxes"), key: "boxes", render: (_, r) => format.number(r.boxes.length) },
  ];

  return (
    <>
      <Typography.Title level={2}>
        {station ? t("station.title", { station: station.name }) : t("station.titleUnknown")}
      </Typography.Title>
      <VisionNav />
      <QueryState fetching={fetching} error={error} hasData={!!station}>
        {station ? (
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Card>
              <Descriptions size="small" column={{ xs: 1, md: 2, xl: 4 }}>
                <Descriptions.Item label={t("stations.activeModel")}>
                  {station.model ? (
                    <Link to={`/vision/models/${station.model.id}${query}`}>
                      {modelLabel(station.model)}
                    </Link>
                  ) : (
                    t("stations.noModel")
                  )}
                </Descriptions.Item>
                <Descriptions.Item label={t("stations.privacy")}>
                  {t(`privacy.${station.privacy.mode}`)}
                </Descriptions.Item>
                <Descriptions.Item label={t("station.keepImages")}>
                  {station.keepImages ? t("station.yes") : t("station.no")}
                </Descriptions.Item>
                <Descriptions.Item label={t("nav.rootCause")}>
                  <Link to={`/vision/root-cause${query}&station=${station.id}`}>
                    {t("station.openRootCause")}
                  </Link>
                </Descriptions.Item>
              </Descriptions>
            </Card>
            <Card
              title={
                <Space>
                  <h3 style={{ margin: 0, fontSize: 16 }}>{t("feed.title")}</h3>
                  <Badge
                    status={
                      feed.error
                        ? "error"
                        : feed.fetching || items.length
                          ? "processing"
                          : "default"
                    }
                    text={feed.error ? t("feed.stopped") : t("feed.live")}
                  />
                </Space>
              }
              extra={
                mayImages ? (
                  <Space>
                    <label htmlFor="vision-heatmap-switch">{t("feed.heatmap")}</label>
                    <Switch
                      id="vision-heatmap-switch"
                      checked={showHeatmap}
                      onChange={setShowHeatmap}
                    />
                  </Space>
                ) : null
              }
            >
              {feed.error ? <ErrorNotice error={feed.error} /> : null}
              {items.length === 0 ? (
                <Empty description={t("feed.waiting")} />
              ) : (
                <Row gutter={[16, 16]}>
                  {items.map((item) => (
                    <Col key={item.record.id} xs={24} sm={12} lg={8} xxl={6}>
                      <FeedCard item={item} showHeatmap={showHeatmap} />
                    </Col>
                  ))}
                </Row>
              )}
            </Card>
            <Card
              title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("records.title")}</h3>}
              extra={
                <Segmented
                  aria-label={t("records.verdictFilter")}
                  value={verdict ?? "all"}
                  onChange={(value) => {
                    const next = new URLSearchParams(params);
                    if (value !== "all") next.set("verdict", String(value));
                    else next.delete("verdict");
                    setParams(next);
                  }}
                  options={["all", "good", "defective", "uncalibrated"].map((v) => ({
                    value: v,
                    label: t(`verdict.${v}`),
                  }))}
                />
              }
            >
              <QueryState
                fetching={records.fetching}
                error={records.error}
                hasData={rows.length > 0}
                empty={t("records.empty")}
              >
                <Typography.Paragraph type="secondary">
                  {t("records.count", {
                    shown: format.number(rows.length),
                    total: format.number(records.data?.qualityRecords.totalCount ?? rows.length),
                  })}
                </Typography.Paragraph>
                <Table
                  rowKey="id"
                  size="small"
                  columns={columns}
                  dataSource={rows}
                  pagination={{ pageSize: 10, hideOnSinglePage: true }}
                  scroll={{ x: true }}
                  expandable={
                    mayImages
                      ? {
                          rowExpandable: (r) => r.imageKept,
                          expandedRowRender: (r) => (
                            <InspectionCanvas
                              imagePath={`/api/v1/quality-records/${r.id}/image`}
                              heatmapPng={null}
                              boxes={r.boxes}
                              width={r.width}
                              height={r.height}
                              label={t("records.imageLabel", {
                                part: r.part ?? r.id.slice(0, 8),
                              })}
                            />
                          ),
                        }
                      : undefined
                  }
                />
              </QueryState>
            </Card>
          </Space>
        ) : null}
      </QueryState>
    </>
  );
}
