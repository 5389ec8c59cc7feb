import { Card, Input, Space, Table, type TableColumnsType, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { VisionModelsQuery } from "../../gql/node/graphql";
import { modelLabel } from "./labels";
import { keyMetrics, metricText } from "./metrics";
import { FactorySelect, useVisionFactory } from "./useVisionFactory";
import { VisionNav } from "./VisionNav";

const VisionModels = graphql(`
  query VisionModels($factoryId: UUID!, $sku: String) {
    visionModels(factoryId: $factoryId, sku: $sku) {
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
      lineage {
        source
        node
        data {
          goodImages
          defectImages {
            label
            count
          }
        }
        market {
          listing
          version
        }
        baseModel {
          id
          number
        }
      }
    }
    stations(factoryId: $factoryId) {
      id
      name
      modelId
    }
  }
`);

type ModelRow = VisionModelsQuery["visionModels"][number];

export default function ModelsPage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const picker = useVisionFactory();
  const factoryId = picker.factoryId;
  const [params, setParams] = useSearchParams();
  const sku = params.get("sku") ?? "";
  const [{ data, fetching, error }] = useQuery({
    query: VisionModels,
    variables: { factoryId: factoryId ?? "", sku: sku || null },
    pause: !factoryId,
  });
  const models = data?.visionModels ?? [];
  const stations = data?.stations ?? [];
  const query = factoryId ? `?factory=${encodeURIComponent(factoryId)}` : "";

  const columns: TableColumnsType<ModelRow> = [
    {
      title: t("models.model"),
      key: "model",
      render: (_, m) => (
        <Link
          to={`/vision/models/${m.id}${query}`}
          data-testid="model-link"
          style={{ whiteSpace: "nowrap" }}
        >
          {modelLabel(m)}
        </Link>
      ),
    },
    { title: t("models.kind"), dataIndex: "kind", key: "kind" },
    {
      title: t("models.source"),
      key: "source",
      render: (_, m) =>
        t(`lineage.sources.${m.lineage.source}`, { defaultValue: m.lineage.source }),
    },
    {
      title: t("models.images"),
      key: "images",
      render: (_, m) =>
        m.lineage.data
          ? t("models.imageCounts", {
              good: format.number(m.lineage.data.goodImages),
              defects: format.number(
                m.lineage.data.defectImages.reduce((sum, d) => sum + d.count, 0),
              ),
            })
          : "—",
    },
    {
      title: t("models.metrics"),
      key: "metrics",
      render: (_, m) => (
        <Space size={[4, 4]} wrap>
          {keyMetrics(m.metrics).map((v) => (
            <Tag key={v.name}>
              {t(`metric.${v.name}`, { defaultValue: v.name })}: {metricText(v, format.number)}
            </Tag>
          ))}
        </Space>
      ),
    },
    {
      title: t("models.stations"),
      key: "stations",
      render: (_, m) => {
        const running = stations.filter((s) => s.modelId === m.id);
        return running.length > 0
          ? running.map((s) => (
              <Tag color="success" key={s.id}>
                {s.name}
              </Tag>
            ))
          : "—";
      },
    },
    {
      title: t("models.createdBy"),
      dataIndex: "createdBy",
      key: "createdBy",
      ellipsis: true,
      width: 180,
    },
    {
      title: t("models.createdAt"),
      key: "createdAt",
      render: (_, m) => (
        <span style={{ whiteSpace: "nowrap" }}>{format.dateTime(m.createdAt)}</span>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={2}>{t("models.title")}</Typography.Title>
      <VisionNav />
      <QueryState fetching={picker.fetching} error={picker.error} hasData={!!factoryId}>
        <Space style={{ marginBottom: 16 }} wrap>
          <FactorySelect
            factories={picker.factories}
            value={factoryId}
            onChange={picker.setFactoryId}
          />
          <Input.Search
            aria-label={t("models.skuFilter")}
            placeholder={t("models.skuFilter")}
            defaultValue={sku}
            allowClear
            onSearch={(value) => {
              const next = new URLSearchParams(params);
              if (value.trim()) next.set("sku", value.trim());
              else next.delete("sku");
              setParams(next);
            }}
            style={{ width: 240 }}
          />
        </Space>
        <Card>
          <QueryState
            fetching={fetching}
            error={error}
            hasData={models.length > 0}
            empty={t("models.empty")}
          >
            <Table
              rowKey="id"
              columns={columns}
              dataSource={models}
              pagination={{ pageSize: 20, hideOnSinglePage: true }}
              scroll={{ x: true }}
            />
          </QueryState>
        </Card>
      </QueryState>
    </>
  );
}
