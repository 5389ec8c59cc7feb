import { Card, Col, Descriptions, Row, Table, Tag, Timeline, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { modelLabel } from "./labels";
import { metricText } from "./metrics";
import { FactorySelect, useVisionFactory } from "./useVisionFactory";
import { VisionNav } from "./VisionNav";

const VisionModelDetail = graphql(`
  query VisionModelDetail($factoryId: UUID!) {
    visionModels(factoryId: $factoryId) {
      id
      sku
      number
      kind
      digest
      createdBy
      createdAt
      metrics {
        name
        number
        text
      }
      params {
        name
        number
        text
      }
      lineage {
        source
        node
        data {
          digest
          goodImages
          defectImages {
            label
            count
          }
          sources {
            label
            count
          }
        }
        parameters {
          holdout
          seed
        }
        file {
          name
          bytes
          sha256
        }
        claimed {
          version
          createdAt
        }
        market {
          listing
          version
          releaseId
          installationId
          publisherKey
          format
        }
        baseModel {
          id
          number
          digest
        }
      }
    }
    stations(factoryId: $factoryId) {
      id
      name
      modelId
      previousModelId
    }
  }
`);

export default function ModelPage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const { id } = useParams();
  const picker = useVisionFactory();
  const factoryId = picker.factoryId;
  const [{ data, fetching, error }] = useQuery({
    query: VisionModelDetail,
    variables: { factoryId: factoryId ?? "" },
    pause: !factoryId,
  });
  const model = data?.visionModels.find((m) => m.id === id);
  const versions = (data?.visionModels ?? [])
    .filter((m) => model && m.sku === model.sku)
    .sort((a, b) => a.number - b.number);
  const running = (data?.stations ?? []).filter((s) => s.modelId === id);
  const query = factoryId ? `?factory=${encodeURIComponent(factoryId)}` : "";
  const valueColumns = [
    { title: t("model.name"), dataIndex: "name", key: "name" },
    {
      title: t("model.value"),
      key: "value",
      render: (_: unknown, v: { name: string; number?: number | null; text?: string | null }) =>
        metricText(v, format.number),
    },
  ];
  const lineage = model?.lineage;

  return (
    <>
      <Typography.Title level={2}>
        {model ? t("model.title", { model: modelLabel(model) }) : t("model.titleUnknown")}
      </Typography.Title>
      <VisionNav />
      <QueryState fetching={picker.fetching} error={picker.error} hasData={!!factoryId}>
        <div style={{ marginBottom: 16 }}>
          <FactorySelect
            factories={picker.factories}
            value={factoryId}
            onChange={picker.setFactoryId}
          />
        </div>
        <QueryState fetching={fetching} error={error} hasData={!!model} empty={t("model.notFound")}>
          {model && lineage ? (
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={12}>
                <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("model.about")}</h3>}>
                  <Descriptions column={1} size="small">
                    <Descriptions.Item label={t("models.kind")}>{model.kind}</Descriptions.Item>
                    <Descriptions.Item label={t("model.digest")}>
                      <code>{model.digest.slice(0, 16)}</code>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("models.createdBy")}>
                      {model.createdBy}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("models.createdAt")}>
                      {format.dateTime(model.createdAt)}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("models.stations")}>
                      {running.length > 0
                        ? running.map((s) => (
                            <Link key={s.id} to={`/vision/stations/${s.id}${query}`}>
                              <Tag color="success">{s.name}</Tag>
                            </Link>
                          ))
                        : t("model.notRunning")}
                    </Descriptions.Item>
                  </Descriptions>
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("lineage.title")}</h3>}>
                  <Descriptions column={1} size="small">
                    <Descriptions.Item label={t("models.source")}>
                      {t(`lineage.sources.${lineage.source}`, { defaultValue: lineage.source })}
                    </Descriptions.Item>
                    {lineage.node ? (
                      <Descriptions.Item label={t("lineage.node")}>
                        {lineage.node}
                      </Descriptions.Item>
                    ) : null}
                    {lineage.data ? (
                      <>
                        <Descriptions.Item label={t("lineage.goodImages")}>
                          {format.number(lineage.data.goodImages)}
                        </Descriptions.Item>
                        <Descriptions.Item label={t("lineage.defectImages")}>
                          {lineage.data.defectImages.length > 0
                            ? lineage.data.defectImages
                                .map((d) => `${d.label} ${format.number(d.count)}`)
                                .join(", ")
                            : "—"}
                        </Descriptions.Item>
                        <Descriptions.Item label={t("lineage.dataDigest")}>
                          <code>{lineage.data.digest.slice(0, 16)}</code>
                        </Descriptions.Item>
                      </>
                    ) : null}
                    {lineage.parameters ? (
                      <Descriptions.Item label={t("lineage.parameters")}>
                        {t("lineage.holdoutSeed", {
                          holdout: format.number(lineage.parameters.holdout ?? null, {
                            style: "percent",
                          }),
                          seed: lineage.parameters.seed ?? "—",
                        })}
                      </Descriptions.Item>
                    ) : null}
                    {lineage.file ? (
                      <Descriptions.Item label={t("lineage.file")}>
                        {lineage.file.name} ({format.number(lineage.file.bytes)} B)
                      </Descriptions.Item>
                    ) : null}
                    {lineage.market ? (
                      <Descriptions.Item label={t("lineage.market")}>
                        {lineage.market.listing} {lineage.market.version}
                      </Descriptions.Item>
                    ) : null}
                    {lineage.baseModel ? (
                      <Descriptions.Item label={t("lineage.baseModel")}>
                        <Link to={`/vision/models/${lineage.baseModel.id}${query}`}>
                          {modelLabel({ sku: model.sku, number: lineage.baseModel.number })}
                        </Link>
                      </Descriptions.Item>
                    ) : null}
                  </Descriptions>
                  <Typography.Title level={4} style={{ fontSize: 14, marginTop: 16 }}>
                    {t("lineage.versions", { sku: model.sku })}
                  </Typography.Title>
                  <Timeline
                    items={versions.map((v) => ({
                      color: v.id === model.id ? "blue" : "gray",
                      content:
                        v.id === model.id ? (
                          <strong>{modelLabel(v)}</strong>
                        ) : (
                          <Link to={`/vision/models/${v.id}${query}`}>{modelLabel(v)}</Link>
                        ),
                    }))}
                  />
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("models.metrics")}</h3>}>
                  <Table
                    rowKey="name"
                    size="small"
                    columns={valueColumns}
                    dataSource={model.metrics}
                    pagination={false}
                  />
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("model.params")}</h3>}>
                  <Table
                    rowKey="name"
                    size="small"
                    columns={valueColumns}
                    dataSource={model.params}
                    pagination={false}
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
