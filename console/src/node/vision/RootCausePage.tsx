import {
  Alert,
  Card,
  Col,
  Descriptions,
  Row,
  Segmented,
  Select,
  Space,
  Tag,
  Typography,
} from "antd";
import { BarChart, ScatterChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { VisionRootCauseQuery } from "../../gql/node/graphql";
import { binPoints, bubbleSize, defectPositions, WINDOWS, windowRange } from "./rootCause";
import { FactorySelect, useVisionFactory } from "./useVisionFactory";
import { VisionNav } from "./VisionNav";

use([ScatterChart, BarChart]);

const RootCauseStations = graphql(`
  query VisionRootCauseStations($factoryId: UUID!) {
    stations(factoryId: $factoryId) {
      id
      name
    }
  }
`);

const RootCause = graphql(`
  query VisionRootCause(
    $stationId: UUID!
    $factoryId: UUID!
    $since: DateTime!
    $until: DateTime!
  ) {
    qualityCauses(stationId: $stationId, since: $since, until: $until) {
      parts
      defective
      defectRate
      partsWithoutTelemetry
      notes
      batches {
        batch
        parts
        defective
        rate
      }
      candidates {
        metric
        parts
        defective
        auroc
        strength
        direction
        qValue
        significant
        explanation
        split {
          threshold
          riskSide
          rateAbove
          rateBelow
        }
        bins {
          low
          high
          parts
          defective
          rate
        }
      }
      notAnalysable {
        metric
        reason
      }
      clusters {
        batch
        centre
        radius
        parts
        shareOfDefective
        qValue
        explanation
      }
    }
    qualityRecords(factoryId: $factoryId, stationId: $stationId, verdict: "defective", first: 100) {
      edges {
        node {
          id
          width
          height
          verdict
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

type Causes = VisionRootCauseQuery["qualityCauses"];
type Candidate = Causes["candidates"][number];

function CandidateChart({ candidate }: { candidate: Candidate }) {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const points = binPoints(candidate.bins);
  const most = Math.max(0, ...points.map((p) => p[2]));
  const option = useMemo(
    () => ({
      grid: { left: 56, right: 24, top: 24, bottom: 48 },
      tooltip: {
        trigger: "item",
        formatter: (p: { value: [number, number, number] }) =>
          t("rootCause.binTooltip", {
            value: format.number(p.value[0], { maximumFractionDigits: 2 }),
            rate: format.number(p.value[1], { maximumFractionDigits: 1 }),
            parts: format.number(p.value[2]),
          }),
      },
      xAxis: {
        type: "value",
        name: candidate.metric,
        nameLocation: "middle",
        nameGap: 28,
        scale: true,
      },
      yAxis: { type: "value", name: t("rootCause.defectRate"), min: 0 },
      series: [
        {
          type: "scatter",
          data: points,
          symbolSize: (value: [number, number, number]) => bubbleSize(value[2], most),
          itemStyle: { color: "#cf1322", opacity: 0.75 },
          markLine: {
            symbol: "none",
            label: { formatter: t("rootCause.split") },
            lineStyle: { type: "dashed", color: "#595959" },
            data: [{ xAxis: candidate.split.threshold }],
          },
        },
      ],
    }),
    [candidate, points, most, t, format],
  );
  return (
    <Card
      size="small"
      title={
        <Space>
          <h4 style={{ margin: 0, fontSize: 14 }}>{candidate.metric}</h4>
          {candidate.significant ? (
            <Tag color="error">{t("rootCause.significant")}</Tag>
          ) : (
            <Tag>{t("rootCause.notSignificant")}</Tag>
          )}
        </Space>
      }
    >
      <EChart
        option={option}
        label={t("rootCause.parameterChart", { metric: candidate.metric })}
        style={{ height: 260 }}
      />
      <Typography.Paragraph style={{ marginBottom: 0 }}>
        {candidate.explanation}{" "}
        <Typography.Text type="secondary">
          {t("rootCause.stats", {
            auroc: format.number(candidate.auroc, { maximumFractionDigits: 2 }),
            q: format.number(candidate.qValue, { maximumSignificantDigits: 2 }),
          })}
        </Typography.Text>
      </Typography.Paragraph>
    </Card>
  );
}

export default function RootCausePage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const picker = useVisionFactory();
  const factoryId = picker.factoryId;
  const [params, setParams] = useSearchParams();
  const windowName = params.get("window") ?? "7d";
  const [stations] = useQuery({
    query: RootCauseStations,
    variables: { factoryId: factoryId ?? "" },
    pause: !factoryId,
  });
  const stationList = stations.data?.stations ?? [];
  const asked = params.get("station");
  const stationId = stationList.some((s) => s.id === asked) ? asked : (stationList[0]?.id ?? null);
  // Fixed per window choice so the query does not change on every render.
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed when the window or station changes
  const range = useMemo(() => windowRange(windowName), [windowName, stationId]);
  const [{ data, fetching, error }] = useQuery({
    query: RootCause,
    variables: { stationId: stationId ?? "", factoryId: factoryId ?? "", ...range },
    pause: !stationId || !factoryId,
  });
  const causes = data?.qualityCauses;
  const positions = useMemo(
    () => defectPositions(data?.qualityRecords.edges.map((e) => e.node) ?? []),
    [data],
  );
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(name, value);
    setParams(next);
  };

  const positionOption = useMemo(
    () => ({
      grid: { left: 48, right: 24, top: 24, bottom: 40 },
      legend: { bottom: 0 },
      tooltip: { trigger: "item" },
      xAxis: { type: "value", min: 0, max: 1, position: "top" },
      yAxis: { type: "value", min: 0, max: 1, inverse: true },
      series: [
        {
          name: t("rootCause.defects"),
          type: "scatter",
          data: positions,
          symbolSize: 8,
          itemStyle: { color: "#cf1322", opacity: 0.7 },
        },
        {
          name: t("rootCause.clusters"),
          type: "scatter",
          data: (causes?.clusters ?? []).map((c) => [c.centre[0], c.centre[1], c.radius]),
          // The radius is a fraction of the image; the chart box is about 300 px square.
          symbolSize: (value: number[]) => Math.max(16, (value[2] ?? 0) * 600),
          itemStyle: { color: "rgba(250, 173, 20, 0.25)", borderColor: "#ad6800", borderWidth: 2 },
        },
      ],
    }),
    [positions, causes, t],
  );

  const batchOption = useMemo(
    () => ({
      grid: { left: 56, right: 24, top: 24, bottom: 48 },
      tooltip: { trigger: "axis" },
      xAxis: {
        type: "category",
        data: (causes?.batches ?? []).map((b) => b.batch ?? t("rootCause.noBatch")),
      },
      yAxis: { type: "value", name: t("rootCause.defectRate"), min: 0 },
      series: [
        {
          name: t("rootCause.defectRate"),
          type: "bar",
          data: (causes?.batches ?? []).map(
            (b) => Math.round((b.rate ?? (b.parts ? b.defective / b.parts : 0)) * 1000) / 10,
          ),
          itemStyle: { color: "#cf1322" },
        },
      ],
    }),
    [causes, t],
  );

  return (
    <>
      <Typography.Title level={2}>{t("rootCause.title")}</Typography.Title>
      <VisionNav />
      <QueryState fetching={picker.fetching} error={picker.error} hasData={!!factoryId}>
        <Space style={{ marginBottom: 16 }} wrap>
          <FactorySelect
            factories={picker.factories}
            value={factoryId}
            onChange={picker.setFactoryId}
          />
          <Select
            aria-label={t("rootCause.station")}
            style={{ minWidth: 200 }}
            value={stationId ?? undefined}
            onChange={(value: string) => set("station", value)}
            options={stationList.map((s) => ({ value: s.id, label: s.name }))}
          />
          <Segmented
            aria-label={t("rootCause.window")}
            value={windowName}
            onChange={(value) => set("window", String(value))}
            options={Object.keys(WINDOWS).map((w) => ({
              value: w,
              label: t(`rootCause.windows.${w}`),
            }))}
          />
        </Space>
        <QueryState
          fetching={fetching || stations.fetching}
          error={error ?? stations.error}
          hasData={!!causes}
          empty={t("rootCause.noStation")}
        >
          {causes ? (
            <Row gutter={[16, 16]}>
              <Col xs={24}>
                <Card>
                  <Descriptions size="small" column={{ xs: 1, md: 2, xl: 4 }}>
                    <Descriptions.Item label={t("rootCause.parts")}>
                      {format.number(causes.parts)}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("rootCause.defective")}>
                      <span data-testid="rootcause-defective">
                        {format.number(causes.defective)}
                      </span>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("rootCause.rate")}>
                      {format.number(causes.defectRate, {
                        style: "percent",
                        maximumFractionDigits: 1,
                      })}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("rootCause.withoutTelemetry")}>
                      {format.number(causes.partsWithoutTelemetry)}
                    </Descriptions.Item>
                  </Descriptions>
                  {causes.notes.length > 0 ? (
                    <Alert
                      type="info"
                      showIcon
                      title={t("rootCause.notes")}
                      description={
                        <ul style={{ margin: 0, paddingInlineStart: 18 }}>
                          {causes.notes.map((note) => (
                            <li key={note}>{note}</li>
                          ))}
                        </ul>
                      }
                    />
                  ) : null}
                </Card>
              </Col>
              <Col xs={24}>
                <Card
                  title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("rootCause.parameters")}</h3>}
                >
                  {causes.candidates.length === 0 ? (
                    <Typography.Paragraph>{t("rootCause.noCandidates")}</Typography.Paragraph>
                  ) : (
                    <Row gutter={[16, 16]}>
                      {causes.candidates.slice(0, 6).map((c) => (
                        <Col key={c.metric} xs={24} xl={12}>
                          <CandidateChart candidate={c} />
                        </Col>
                      ))}
                    </Row>
                  )}
                  {causes.notAnalysable.length > 0 ? (
                    <Typography.Paragraph
                      type="secondary"
                      style={{ marginTop: 12, marginBottom: 0 }}
                    >
                      {t("rootCause.notAnalysable")}{" "}
                      {causes.notAnalysable.map((m) => `${m.metric} (${m.reason})`).join("; ")}
                    </Typography.Paragraph>
                  ) : null}
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card
                  title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("rootCause.positions")}</h3>}
                >
                  <EChart
                    option={positionOption}
                    label={t("rootCause.positionsChart", { count: positions.length })}
                    style={{ height: 340 }}
                  />
                  {causes.clusters.map((c) => (
                    <Typography.Paragraph key={`${c.batch}-${c.centre.join(",")}`}>
                      {c.explanation}
                    </Typography.Paragraph>
                  ))}
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("rootCause.batches")}</h3>}>
                  <EChart
                    option={batchOption}
                    label={t("rootCause.batchesChart")}
                    style={{ height: 340 }}
                  />
                </Card>
              </Col>
            </Row>
          ) : null}
        </QueryState>
      </QueryState>
    </>
  );
}
