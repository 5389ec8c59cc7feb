import { Card, Descriptions, Space, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { GlobalModelDocument } from "./documents";

const cardTitle = (text: string) => <h3 style={{ margin: 0, fontSize: 16 }}>{text}</h3>;

export default function ModelPage() {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const { id = "" } = useParams();
  const [{ data, fetching, error }] = useQuery({ query: GlobalModelDocument, variables: { id } });
  const model = data?.globalModel;
  const lineage = model?.lineage;

  return (
    <>
      <Typography.Paragraph>
        <Link to="/federated/models">{t("models.back")}</Link>
      </Typography.Paragraph>
      <QueryState fetching={fetching} error={error} hasData={!!model} rows={8}>
        {model && lineage ? (
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Typography.Title level={2} style={{ margin: 0 }} data-testid="model-title">
              {t("models.detailTitle", { name: model.name, version: model.version })}
            </Typography.Title>
            <Card title={cardTitle(t("models.metrics"))}>
              <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }}>
                {model.metrics.map((metric) => (
                  <Descriptions.Item
                    key={metric.name}
                    label={t(`metrics.${metric.name}`, { defaultValue: metric.name })}
                  >
                    {format.number(metric.value, { maximumFractionDigits: 4 })}
                  </Descriptions.Item>
                ))}
                <Descriptions.Item label={t("fields.kind")}>{model.kind}</Descriptions.Item>
                <Descriptions.Item label={t("fields.registeredAt")}>
                  {format.dateTime(model.createdAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.digest")}>
                  <Typography.Text code copyable style={{ wordBreak: "break-all" }}>
                    {model.digest}
                  </Typography.Text>
                </Descriptions.Item>
              </Descriptions>
            </Card>
            <Card title={cardTitle(t("models.lineage"))}>
              <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }}>
                <Descriptions.Item label={t("fields.source")}>
                  {lineage.source === "federated" ? t("models.federated") : lineage.source}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.run")}>
                  {lineage.runId ? (
                    <Link to={`/federated/runs/${lineage.runId}`} data-testid="model-run-link">
                      {lineage.runId}
                    </Link>
                  ) : (
                    "—"
                  )}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.flowerRunId")}>
                  {lineage.flowerRunId ?? "—"}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.strategy")}>
                  {lineage.strategy
                    ? t(`strategy.${lineage.strategy}`, { defaultValue: lineage.strategy })
                    : "—"}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.rounds")}>
                  {format.number(lineage.rounds)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.minNodes")}>
                  {format.number(lineage.minNodes)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.baseModel")}>
                  {t("models.fromScratch")}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.nodes")}>
                  <Space wrap size={4}>
                    <span>{t("models.nodes", { count: lineage.nodes.length })}:</span>
                    {lineage.nodes.map((node) => (
                      <Tag key={node.nodeId}>{node.name || node.nodeId}</Tag>
                    ))}
                  </Space>
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.privacy")}>
                  {lineage.privacy.secureAggregation.enabled
                    ? `${t("privacy.secagg")} (${lineage.privacy.secureAggregation.protocol ?? ""})`
                    : lineage.privacy.differentialPrivacy.enabled
                      ? `${t("privacy.dp")} (${t("fields.dpNoiseMultiplier")} ${format.number(lineage.privacy.differentialPrivacy.noiseMultiplier)}, ${t("fields.dpClippingNorm")} ${format.number(lineage.privacy.differentialPrivacy.clippingNorm)})`
                      : t("privacy.none")}
                </Descriptions.Item>
              </Descriptions>
              <Typography.Title level={5}>{t("models.parameters")}</Typography.Title>
              <Descriptions size="small" column={{ xs: 1, md: 3 }}>
                <Descriptions.Item label={t("fields.localEpochs")}>
                  {format.number(lineage.parameters.localEpochs)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.learningRate")}>
                  {format.number(lineage.parameters.learningRate)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.proximalMu")}>
                  {format.number(lineage.parameters.proximalMu)}
                </Descriptions.Item>
              </Descriptions>
            </Card>
            <Card title={cardTitle(t("models.release"))}>
              {model.marketRelease ? (
                <Space wrap>
                  <Link
                    to={`/market/releases/${model.marketRelease.id}`}
                    data-testid="model-release-link"
                  >
                    {t("models.openRelease", {
                      version: model.marketRelease.version,
                      listing: model.marketRelease.listingSlug,
                    })}
                  </Link>
                  <Tag>
                    {t(`models.releaseStatus.${model.marketRelease.status}`, {
                      defaultValue: model.marketRelease.status,
                    })}
                  </Tag>
                  {model.marketRelease.verified ? <Tag>{t("models.verified")}</Tag> : null}
                  <Typography.Text type="secondary">
                    {format.dateTime(model.marketRelease.createdAt)}
                  </Typography.Text>
                </Space>
              ) : (
                <Typography.Text type="secondary">{t("models.noRelease")}</Typography.Text>
              )}
            </Card>
          </Space>
        ) : null}
      </QueryState>
    </>
  );
}
