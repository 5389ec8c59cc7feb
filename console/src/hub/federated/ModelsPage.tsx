import { Card, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { GlobalModelsQuery } from "../../gql/hub/graphql";
import { GlobalModelsDocument } from "./documents";
import { metricValue } from "./shaping";

type Row = GlobalModelsQuery["globalModels"][number];

export default function ModelsPage() {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const navigate = useNavigate();
  const [{ data, fetching, error }] = useQuery({ query: GlobalModelsDocument });
  const rows = data?.globalModels ?? [];
  const metric = (row: Row, name: string) =>
    format.number(metricValue(row.metrics, name), { maximumFractionDigits: 4 });

  return (
    <>
      <Typography.Title level={2}>{t("models.title")}</Typography.Title>
      <Card>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("models.empty")}
        >
          <Table<Row>
            rowKey="id"
            dataSource={rows}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            size="middle"
            scroll={{ x: 900 }}
            onRow={(row) => ({ onDoubleClick: () => navigate(`/federated/models/${row.id}`) })}
            columns={[
              {
                title: t("fields.name"),
                key: "name",
                render: (_: unknown, row) => (
                  <Link to={`/federated/models/${row.id}`}>
                    {row.name} v{row.version}
                  </Link>
                ),
              },
              { title: t("fields.kind"), dataIndex: "kind" },
              {
                title: t("metrics.eval_auroc"),
                key: "auroc",
                align: "right",
                render: (_: unknown, row) => metric(row, "eval_auroc"),
              },
              {
                title: t("metrics.eval_loss"),
                key: "loss",
                align: "right",
                render: (_: unknown, row) => metric(row, "eval_loss"),
              },
              {
                title: t("fields.run"),
                key: "run",
                render: (_: unknown, row) =>
                  row.lineage.runId ? (
                    <Link to={`/federated/runs/${row.lineage.runId}`}>
                      {t(`strategy.${row.lineage.strategy ?? ""}`, {
                        defaultValue: row.lineage.strategy ?? "",
                      })}{" "}
                      × {format.number(row.lineage.rounds)}
                    </Link>
                  ) : (
                    "—"
                  ),
              },
              {
                title: t("fields.nodes"),
                key: "nodes",
                render: (_: unknown, row) => row.lineage.nodes.map((n) => n.name).join(", "),
              },
              {
                title: t("fields.privacy"),
                key: "privacy",
                render: (_: unknown, row) =>
                  row.lineage.privacy.secureAggregation.enabled ? (
                    <Tag>{t("privacy.secagg")}</Tag>
                  ) : row.lineage.privacy.differentialPrivacy.enabled ? (
                    <Tag>{t("privacy.dp")}</Tag>
                  ) : (
                    t("privacy.none")
                  ),
              },
              {
                title: t("fields.registeredAt"),
                dataIndex: "createdAt",
                render: (value: string) => format.dateTime(value),
              },
            ]}
          />
        </QueryState>
      </Card>
    </>
  );
}
