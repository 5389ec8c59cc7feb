import {
  App,
  Button,
  Card,
  Popconfirm,
  Select,
  Space,
  Table,
  type TableColumnsType,
  Tag,
  Typography,
} from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { describeError, QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { VisionStationsQuery } from "../../gql/node/graphql";
import { modelLabel } from "./labels";
import { FactorySelect, useVisionFactory } from "./useVisionFactory";
import { VisionNav } from "./VisionNav";

const VisionStations = graphql(`
  query VisionStations($factoryId: UUID!) {
    stations(factoryId: $factoryId) {
      id
      slug
      name
      modelId
      previousModelId
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
    visionModels(factoryId: $factoryId) {
      id
      sku
      number
      kind
      createdAt
    }
  }
`);

const ActivateModel = graphql(`
  mutation VisionActivateModel($stationId: UUID!, $modelId: UUID!) {
    activateVisionModel(stationId: $stationId, modelId: $modelId) {
      id
      modelId
      previousModelId
      updatedAt
      model {
        id
        sku
        number
        kind
      }
    }
  }
`);

const RollbackStation = graphql(`
  mutation VisionRollbackStation($stationId: UUID!) {
    rollbackStation(stationId: $stationId) {
      id
      modelId
      previousModelId
      updatedAt
      model {
        id
        sku
        number
        kind
      }
    }
  }
`);

type StationRow = VisionStationsQuery["stations"][number];
type ModelRow = VisionStationsQuery["visionModels"][number];

function SwitchCell({ station, models }: { station: StationRow; models: ModelRow[] }) {
  const { t } = useTranslation("vision");
  const { message } = App.useApp();
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [activating, activate] = useMutation(ActivateModel);
  const [rolling, rollback] = useMutation(RollbackStation);
  const previous = models.find((m) => m.id === station.previousModelId);
  const chosenModel = models.find((m) => m.id === chosen);
  const report = (error: CombinedError | undefined, done: string) => {
    if (error) {
      const { message: text, code } = describeError(error);
      void message.error(code ? `${text} (${code})` : text);
    } else {
      void message.success(done);
    }
  };
  return (
    <Space wrap>
      <Select
        aria-label={t("stations.chooseModel", { station: station.name })}
        style={{ minWidth: 200 }}
        showSearch={{ optionFilterProp: "label" }}
        value={chosen}
        onChange={setChosen}
        options={models
          .filter((m) => m.id !== station.modelId)
          .map((m) => ({ value: m.id, label: modelLabel(m) }))}
      />
      <Popconfirm
        title={t("stations.switchConfirm", {
          station: station.name,
          model: chosenModel ? modelLabel(chosenModel) : "",
        })}
        okText={t("stations.switch")}
        cancelText={t("actions.cancel")}
        disabled={!chosen}
        onConfirm={async () => {
          if (!chosen) return;
          const result = await activate({ stationId: station.id, modelId: chosen });
          report(result.error, t("stations.switched", { station: station.name }));
          if (!result.error) setChosen(undefined);
        }}
      >
        <Button type="primary" disabled={!chosen} loading={activating.fetching}>
          {t("stations.switch")}
        </Button>
      </Popconfirm>
      <Popconfirm
        title={t("stations.rollbackConfirm", {
          station: station.name,
          model: previous ? modelLabel(previous) : "",
        })}
        okText={t("stations.rollback")}
        cancelText={t("actions.cancel")}
        disabled={!station.previousModelId}
        onConfirm={async () => {
          const result = await rollback({ stationId: station.id });
          report(result.error, t("stations.rolledBack", { station: station.name }));
        }}
      >
        <Button disabled={!station.previousModelId} loading={rolling.fetching}>
          {t("stations.rollback")}
        </Button>
      </Popconfirm>
    </Space>
  );
}

export default function StationsPage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const viewer = useViewer();
  const picker = useVisionFactory();
  const factoryId = picker.factoryId;
  const [{ data, fetching, error }] = useQuery({
    query: VisionStations,
    variables: { factoryId: factoryId ?? "" },
    pause: !factoryId,
  });
  const stations = data?.stations ?? [];
  const models = data?.visionModels ?? [];
  const query = factoryId ? `?factory=${encodeURIComponent(factoryId)}` : "";

  const columns: TableColumnsType<StationRow> = [
    {
      title: t("stations.name"),
      key: "name",
      render: (_, s) => (
        <Link to={`/vision/stations/${s.id}${query}`}>
          {s.name} <Typography.Text type="secondary">({s.slug})</Typography.Text>
        </Link>
      ),
    },
    {
      title: t("stations.activeModel"),
      key: "model",
      render: (_, s) =>
        s.model ? (
          <Link to={`/vision/models/${s.model.id}${query}`} data-testid="station-active-model">
            <Tag color="processing">{modelLabel(s.model)}</Tag>
          </Link>
        ) : (
          <Tag>{t("stations.noModel")}</Tag>
        ),
    },
    {
      title: t("stations.privacy"),
      key: "privacy",
      render: (_, s) => t(`privacy.${s.privacy.mode}`),
    },
    {
      title: t("stations.updatedAt"),
      key: "updatedAt",
      render: (_, s) => format.dateTime(s.updatedAt),
    },
    ...(viewer.can.manageVision === false
      ? []
      : [
          {
            title: t("stations.actions"),
            key: "actions",
            render: (_: unknown, s: StationRow) => <SwitchCell station={s} models={models} />,
          },
        ]),
  ];

  return (
    <>
      <Typography.Title level={2}>{t("stations.title")}</Typography.Title>
      <VisionNav />
      <QueryState fetching={picker.fetching} error={picker.error} hasData={!!factoryId}>
        <Space style={{ marginBottom: 16 }}>
          <FactorySelect
            factories={picker.factories}
            value={factoryId}
            onChange={picker.setFactoryId}
          />
        </Space>
        <Card>
          <QueryState
            fetching={fetching}
            error={error}
            hasData={stations.length > 0}
            empty={t("stations.empty")}
          >
            <Table
              rowKey="id"
              columns={columns}
              dataSource={stations}
              pagination={false}
              scroll={{ x: true }}
            />
          </QueryState>
        </Card>
      </QueryState>
    </>
  );
}
