import {
  Alert,
  Badge,
  Card,
  Descriptions,
  Flex,
  List,
  Progress,
  Space,
  Table,
  Typography,
} from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery, useSubscription } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { FederatedRunFieldsFragment } from "../../gql/hub/graphql";
import { FederatedRunDocument, FederatedRunProgressDocument } from "./documents";
import { RoundCharts } from "./RoundCharts";
import { RunStatusTag } from "./RunStatusTag";
import {
  isActive,
  metricValue,
  type RoundRow,
  roundRows,
  roundsDone,
  TABLE_METRICS,
} from "./shaping";

type Run = FederatedRunFieldsFragment;

const cardTitle = (text: string) => <h3 style={{ margin: 0, fontSize: 16 }}>{text}</h3>;

export default function RunPage() {
  const { t } = useTranslation("federated");
  const { id = "" } = useParams();
  const [{ data, fetching, error }] = useQuery({
    query: FederatedRunDocument,
    variables: { id },
  });
  const loaded = data?.federatedRun;
  // Live: the run as it changes (each step of each round, then its model), until it ends.
  const [live] = useSubscription(
    {
      query: FederatedRunProgressDocument,
      variables: { id },
      pause: !loaded || !isActive(loaded.status),
    },
    (_previous: Run | undefined, answer) => answer.federatedRunProgress,
  );
  const run = live.data ?? loaded;

  return (
    <>
      <Typography.Paragraph>
        <Link to="/federated">{t("run.back")}</Link>
      </Typography.Paragraph>
      <QueryState fetching={fetching} error={error} hasData={!!run} rows={8}>
        {run ? (
          <RunView
            run={run}
            liveState={!isActive(run.status) ? null : live.error ? "error" : "on"}
          />
        ) : null}
      </QueryState>
    </>
  );
}

function RunView({ run, liveState }: { run: Run; liveState: "on" | "error" | null }) {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const perRound = run.summary?.perRound ?? [];
  const done = roundsDone(perRound);
  const config = run.config;
  return (
    <Space orientation="vertical" size={16} style={{ width: "100%" }}>
      <Flex align="center" gap={12} wrap>
        <Typography.Title level={2} style={{ margin: 0 }} data-testid="run-title">
          {t("run.title", { label: run.label })}
        </Typography.Title>
        <RunStatusTag status={run.status} />
        {liveState ? (
          <Badge
            status={liveState === "error" ? "error" : "processing"}
            text={liveState === "error" ? t("run.liveError") : t("run.live")}
          />
        ) : null}
      </Flex>
      {run.status === "FAILED" ? (
        <Alert type="error" showIcon title={t("run.failed")} description={run.error ?? undefined} />
      ) : null}
      <Card title={cardTitle(t("run.progress"))}>
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Progress
            percent={Math.round((done / Math.max(run.rounds, 1)) * 100)}
            status={
              run.status === "FAILED"
                ? "exception"
                : run.status === "FINISHED"
                  ? "success"
                  : "active"
            }
            aria-label={t("run.roundsDone", { done, rounds: run.rounds })}
          />
          <Typography.Text data-testid="rounds-done">
            {t("run.roundsDone", {
              done: format.number(done),
              rounds: format.number(run.rounds),
            })}
          </Typography.Text>
          {isActive(run.status) && perRound.length === 0 ? (
            <Typography.Text type="secondary">{t("run.waiting")}</Typography.Text>
          ) : null}
        </Space>
      </Card>
      <Card title={cardTitle(t("run.charts"))} data-testid="round-charts">
        <RoundCharts perRound={perRound} rounds={run.rounds} />
      </Card>
      <Card title={cardTitle(t("run.model"))}>
        {run.model ? (
          <Space orientation="vertical">
            <Link to={`/federated/models/${run.model.id}`} data-testid="run-model-link">
              {t("run.openModel", { name: run.model.name, version: run.model.version })}
            </Link>
            <Descriptions size="small" column={{ xs: 1, md: 3 }} title={t("run.final")}>
              {run.model.metrics.map((metric) => (
                <Descriptions.Item
                  key={metric.name}
                  label={t(`metrics.${metric.name}`, { defaultValue: metric.name })}
                >
                  {format.number(metric.value, { maximumFractionDigits: 4 })}
                </Descriptions.Item>
              ))}
            </Descriptions>
          </Space>
        ) : (
          <Typography.Text type="secondary">{t("run.noModel")}</Typography.Text>
        )}
      </Card>
      <Card title={cardTitle(t("run.config"))}>
        <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }}>
          <Descriptions.Item label={t("fields.strategy")}>
            {t(`strategy.${config.strategy}`)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.rounds")}>
            {format.number(config.rounds)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.minNodes")}>
            {format.number(config.minNodes)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.localEpochs")}>
            {format.number(config.localEpochs)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.learningRate")}>
            {format.number(config.learningRate)}
          </Descriptions.Item>
          {config.strategy === "FEDPROX" ? (
            <Descriptions.Item label={t("fields.proximalMu")}>
              {format.number(config.proximalMu)}
            </Descriptions.Item>
          ) : null}
          <Descriptions.Item label={t("fields.roundTimeoutS")}>
            {format.number(config.roundTimeoutS)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.privacy")}>
            {config.secureAggregation
              ? t("privacy.secagg")
              : config.dpNoiseMultiplier > 0
                ? `${t("privacy.dp")} (${t("fields.dpNoiseMultiplier")} ${format.number(config.dpNoiseMultiplier)}, ${t("fields.dpClippingNorm")} ${format.number(config.dpClippingNorm)})`
                : t("privacy.none")}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.startedBy")}>{run.startedBy}</Descriptions.Item>
          <Descriptions.Item label={t("fields.createdAt")}>
            {format.dateTime(run.createdAt)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.finishedAt")}>
            {format.dateTime(run.finishedAt)}
          </Descriptions.Item>
          <Descriptions.Item label={t("fields.flowerRunId")}>
            {run.flowerRunId ?? "—"}
          </Descriptions.Item>
          {run.summary?.seconds && !isActive(run.status) ? (
            <Descriptions.Item label={t("fields.duration")}>
              {t("run.seconds", {
                seconds: format.number(run.summary.seconds, { maximumFractionDigits: 1 }),
              })}
            </Descriptions.Item>
          ) : null}
        </Descriptions>
      </Card>
      {run.summary ? <PrivacyCard summary={run.summary} /> : null}
      <Card title={cardTitle(t("run.perRound"))}>
        <RoundsTable run={run} />
      </Card>
    </Space>
  );
}

function PrivacyCard({ summary }: { summary: NonNullable<Run["summary"]> }) {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const dp = summary.privacy.differentialPrivacy;
  const secagg = summary.privacy.secureAggregation;
  const items: string[] = [];
  if (dp.enabled) {
    items.push(
      t("run.dpOn", {
        mechanism: dp.mechanism ?? "—",
        noise: format.number(dp.noiseMultiplier),
        clip: format.number(dp.clippingNorm),
      }),
    );
    if (dp.rounds) items.push(t("run.coversRounds", { rounds: dp.rounds }));
    if (dp.notCovered) items.push(t("run.notCovered", { what: dp.notCovered }));
  }
  if (secagg.enabled) {
    items.push(
      t("run.secaggOn", {
        protocol: secagg.protocol ?? "SecAgg+",
        shares: format.number(secagg.numShares),
        threshold: format.number(secagg.reconstructionThreshold),
      }),
    );
    if (secagg.notCovered) items.push(t("run.notCovered", { what: secagg.notCovered }));
  }
  return (
    <Card title={cardTitle(t("run.privacy"))}>
      {items.length > 0 ? (
        <List
          size="small"
          dataSource={items}
          renderItem={(item) => <List.Item>{item}</List.Item>}
        />
      ) : (
        <Typography.Text type="secondary">{t("run.noPrivacy")}</Typography.Text>
      )}
      {summary.droppedNodes.length > 0 ? (
        <>
          <Typography.Title level={5}>{t("run.dropped")}</Typography.Title>
          <List
            size="small"
            dataSource={summary.droppedNodes}
            renderItem={(node) => (
              <List.Item>
                {node.name || node.nodeId}:{" "}
                {t("run.droppedWhy", {
                  round: node.round ?? "—",
                  step: node.step ?? "—",
                  reason: node.reason ?? "—",
                })}
              </List.Item>
            )}
          />
        </>
      ) : null}
    </Card>
  );
}

function RoundsTable({ run }: { run: Run }) {
  const { t } = useTranslation("federated");
  const format = useFormat();
  const perRound = run.summary?.perRound ?? [];
  const rows = useMemo(() => roundRows(perRound), [perRound]);
  const missing = perRound.flatMap((record) =>
    record.steps
      .filter((step) => step.missing.length > 0)
      .map((step) => ({ round: record.round, kind: step.kind, missing: step.missing })),
  );
  return (
    <>
      <Table<RoundRow>
        rowKey="key"
        size="small"
        dataSource={rows}
        pagination={false}
        scroll={{ x: 900 }}
        data-testid="rounds-table"
        columns={[
          { title: t("fields.round"), dataIndex: "round", width: 80 },
          {
            title: t("fields.node"),
            key: "node",
            render: (_: unknown, row) => row.name || row.nodeId,
          },
          ...TABLE_METRICS.map((metric) => ({
            title: t(`metrics.${metric}`),
            key: metric,
            align: "right" as const,
            render: (_: unknown, row: RoundRow) =>
              format.number(row.metrics[metric], {
                maximumFractionDigits: metric.endsWith("_examples") ? 0 : 4,
              }),
          })),
          {
            title: t("fields.error"),
            dataIndex: "error",
            render: (value: string | null) =>
              value ? <Typography.Text type="danger">{value}</Typography.Text> : "",
          },
        ]}
      />
      {missing.map((entry) => (
        <Typography.Paragraph key={`${entry.round}-${entry.kind}`} type="warning">
          {t("fields.round")} {entry.round}, {entry.kind}:{" "}
          {t("run.missing", { nodes: entry.missing.join(", ") })}
        </Typography.Paragraph>
      ))}
      {run.summary && run.summary.final.length > 0 ? (
        <Typography.Paragraph type="secondary">
          {t("run.final")}:{" "}
          {run.summary.final
            .map(
              (m) =>
                `${t(`metrics.${m.name}`, { defaultValue: m.name })} ${format.number(metricValue(run.summary?.final ?? [], m.name), { maximumFractionDigits: 4 })}`,
            )
            .join(" · ")}
        </Typography.Paragraph>
      ) : null}
    </>
  );
}
