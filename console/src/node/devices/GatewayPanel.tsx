import { KeyOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  Descriptions,
  Empty,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { ClaimCodeModal, type IssuedClaimCode } from "./ClaimCodeModal";
import { configState, isStale, type PointRow, pointRows, pointValue, summarize } from "./gateway";
import { PushConfigModal } from "./PushConfigModal";
import { CreateClaimCodeMutation, GatewayStatusQuery } from "./queries";

/** How often the page asks the node for the gateway's newest report. */
const REFRESH_MS = 10_000;

function Time({ at }: { at: string | null | undefined }) {
  const format = useFormat();
  if (!at) return <>—</>;
  return (
    <Tooltip title={format.dateTime(at)}>
      <time dateTime={at}>{format.relative(at)}</time>
    </Tooltip>
  );
}

/** An edge node's gateway: its report (link, journal, connectors, every point's last value
 * and error) and, for who may manage the factory's devices, a one-time claim code. */
export function GatewayPanel({
  deviceId,
  deviceKey,
  factoryId,
  canManage,
}: {
  deviceId: string;
  deviceKey: string;
  factoryId: string;
  canManage: boolean;
}) {
  const { t } = useTranslation("devices");
  const format = useFormat();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: GatewayStatusQuery,
    variables: { deviceId },
  });
  useEffect(() => {
    const timer = window.setInterval(() => refetch({ requestPolicy: "network-only" }), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [refetch]);
  const [claimResult, createClaim] = useMutation(CreateClaimCodeMutation);
  const [issued, setIssued] = useState<IssuedClaimCode | null>(null);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [pushing, setPushing] = useState(false);

  const status = data?.gatewayStatus;
  const config = configState(status ?? {});
  const rows = useMemo(() => pointRows(status?.points ?? []), [status?.points]);
  const summary = useMemo(
    () => summarize(status?.points ?? [], status?.connectors ?? []),
    [status?.points, status?.connectors],
  );

  const claim = async () => {
    setRefusal(null);
    const answer = await createClaim({ input: { factoryId, edgeNodeKey: deviceKey } });
    const result = answer.data?.createGatewayClaimCode;
    if (result?.__typename === "CreateGatewayClaimCodeSuccess") {
      setIssued({
        code: result.code,
        edgeNodeKey: result.edgeNodeKey,
        expiresAt: result.expiresAt,
        claimCommand: result.claimCommand,
      });
    } else if (result?.__typename === "CreateGatewayClaimCodeError") {
      setRefusal({ code: result.code, message: result.message });
    }
  };

  const value = (row: PointRow) => {
    const shown = pointValue(row.lastValue);
    if (shown.kind === "number")
      return `${format.number(shown.value, { maximumFractionDigits: 3 })} ${row.unit}`;
    if (shown.kind === "bool") return t(shown.value ? "gateway.true" : "gateway.false");
    if (shown.kind === "text") return shown.value;
    return "—";
  };

  return (
    <>
      <Card
        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("gateway.status")}</h3>}
        extra={
          canManage ? (
            <Space wrap>
              <Button onClick={() => setPushing(true)} data-testid="gateway-push">
                {t("gateway.push")}
              </Button>
              <Button
                icon={<KeyOutlined />}
                loading={claimResult.fetching}
                onClick={() => void claim()}
                data-testid="gateway-claim"
              >
                {t("gateway.claim")}
              </Button>
            </Space>
          ) : null
        }
        style={{ marginBottom: 16 }}
      >
        {claimResult.error ? <ErrorNotice error={claimResult.error} /> : null}
        {refusal ? (
          <Alert
            type="error"
            showIcon
            title={refusal.message}
            description={refusal.code}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <QueryState fetching={fetching && !data} error={error} hasData={!!status} rows={4}>
          {status ? (
            <>
              {!status.reportedAt ? (
                <Alert type="info" showIcon title={t("gateway.noReport")} />
              ) : isStale(status.reportedAt, Date.now()) ? (
                <Alert
                  type="warning"
                  showIcon
                  title={t("gateway.stale")}
                  style={{ marginBottom: 16 }}
                />
              ) : null}
              {config.refused ? (
                <Alert
                  type="error"
                  showIcon
                  title={t("gateway.configRefused", { version: config.refused.version })}
                  description={config.refused.error}
                  style={{ marginBottom: 16 }}
                />
              ) : null}
              {status.reportedAt ? (
                <Descriptions column={{ xs: 1, md: 2, xl: 4 }} size="small">
                  <Descriptions.Item label={t("gateway.connection")}>
                    <span data-testid="gateway-connection">
                      {t(
                        status.connection === "ONLINE"
                          ? "presence.ONLINE"
                          : status.connection === "OFFLINE"
                            ? "presence.OFFLINE"
                            : "presence.NEVER_SEEN",
                      )}
                    </span>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.reportedAt")}>
                    <Time at={status.reportedAt} />
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.mqtt")}>
                    {status.mqttConnected ? (
                      <Tag color="success">{t("gateway.mqttUp")}</Tag>
                    ) : (
                      <Tooltip title={status.mqttLastError ?? undefined}>
                        <Tag color="error">{t("gateway.mqttDown")}</Tag>
                      </Tooltip>
                    )}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.backlog")}>
                    {format.number(status.journalRows)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.dropped")}>
                    {format.number(status.journalDropped)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.refused")}>
                    {format.number(status.valuesRefused)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.readErrors")}>
                    {format.number(status.readErrors)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.config")}>
                    <span data-testid="gateway-config">
                      {config.running === null
                        ? t("gateway.configFile")
                        : t("gateway.configVersion", { version: config.running })}
                      {config.pending !== null ? (
                        <Tag color="processing" style={{ marginLeft: 8 }}>
                          {t("gateway.configPending", { version: config.pending })}
                        </Tag>
                      ) : null}
                    </span>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("gateway.points")}>
                    <span data-testid="gateway-summary">
                      {t("gateway.summary", {
                        failing: summary.failing,
                        points: summary.points,
                        machines: summary.machines,
                      })}
                    </span>
                  </Descriptions.Item>
                </Descriptions>
              ) : null}
            </>
          ) : (
            <Empty />
          )}
        </QueryState>
      </Card>
      {status?.reportedAt ? (
        <>
          <Card
            title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("gateway.connectors")}</h3>}
            style={{ marginBottom: 16 }}
          >
            <Table
              size="small"
              rowKey="name"
              pagination={false}
              dataSource={status.connectors}
              data-testid="gateway-connectors"
              columns={[
                { title: t("gateway.connector"), dataIndex: "name" },
                {
                  title: t("gateway.state"),
                  dataIndex: "up",
                  render: (up: boolean) => (
                    <Tag color={up ? "success" : "error"}>
                      {t(up ? "gateway.up" : "gateway.down")}
                    </Tag>
                  ),
                },
                {
                  title: t("gateway.lastError"),
                  dataIndex: "lastError",
                  render: (text: string | null) => text ?? "—",
                },
              ]}
            />
          </Card>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("gateway.points")}</h3>}>
            <Table<PointRow>
              size="small"
              rowKey="key"
              dataSource={rows}
              pagination={{ pageSize: 50, hideOnSinglePage: true }}
              data-testid="gateway-points"
              columns={[
                { title: t("gateway.machine"), dataIndex: "deviceKey" },
                { title: t("gateway.metric"), dataIndex: "metric" },
                {
                  title: t("gateway.value"),
                  key: "value",
                  render: (_: unknown, row) => value(row),
                },
                {
                  title: t("gateway.at"),
                  dataIndex: "lastAt",
                  render: (at: string | null) => <Time at={at} />,
                },
                {
                  title: t("gateway.state"),
                  dataIndex: "failing",
                  render: (failing: boolean) => (
                    <Tag color={failing ? "error" : "success"}>
                      {t(failing ? "gateway.failing" : "gateway.ok")}
                    </Tag>
                  ),
                },
                {
                  title: t("gateway.lastError"),
                  key: "lastError",
                  render: (_: unknown, row) =>
                    row.lastError ? (
                      <Space size={4}>
                        <Typography.Text type={row.failing ? "danger" : "secondary"}>
                          {row.lastError}
                        </Typography.Text>
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          <Time at={row.lastErrorAt} />
                        </Typography.Text>
                      </Space>
                    ) : (
                      "—"
                    ),
                },
                {
                  title: t("gateway.source"),
                  dataIndex: "source",
                  render: (text: string) => <Typography.Text code>{text}</Typography.Text>,
                },
              ]}
            />
          </Card>
        </>
      ) : null}
      <ClaimCodeModal issued={issued} onClose={() => setIssued(null)} />
      <PushConfigModal
        open={pushing}
        deviceId={deviceId}
        onClose={() => setPushing(false)}
        onPushed={() => {
          setPushing(false);
          refetch({ requestPolicy: "network-only" });
        }}
      />
    </>
  );
}
