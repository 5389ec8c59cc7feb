import { ArrowLeftOutlined } from "@ant-design/icons";
import {
  Button,
  Card,
  Col,
  Descriptions,
  Empty,
  Popconfirm,
  Row,
  Space,
  Statistic,
  Tabs,
  Tag,
  Tooltip,
  Typography,
} from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { useMutation, useQuery, useSubscription } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { DeviceTransition } from "../../gql/node/graphql";
import { CredentialsModal, type IssuedCredentials } from "./CredentialsModal";
import { DeadLettersTable } from "./DeadLettersTable";
import { GatewayPanel } from "./GatewayPanel";
import {
  ChangeStatusMutation,
  DeviceQuery,
  OnlineWindowQuery,
  RotateCredentialsMutation,
  TelemetrySubscription,
} from "./queries";
import { DEFAULT_ONLINE_WINDOW_S, PRESENCE_COLORS, presence, STATUS_COLORS } from "./status";
import { TelemetryChart } from "./TelemetryChart";
import { DEFAULT_RANGE, isRangeId, keepLive, type LiveReading, type RangeId } from "./telemetry";
import { useFactoryChoices } from "./useFactoryNames";

const NO_READINGS: LiveReading[] = [];

export default function DevicePage() {
  const { t } = useTranslation("devices");
  const format = useFormat();
  const viewer = useViewer();
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const { byId } = useFactoryChoices();
  const [{ data, fetching, error }, refetchDevice] = useQuery({
    query: DeviceQuery,
    variables: { id },
  });
  const [windowResult] = useQuery({
    query: OnlineWindowQuery,
    pause: viewer.can.readOverview !== true,
  });
  const windowS = windowResult.data?.overview.devices.windowS ?? DEFAULT_ONLINE_WINDOW_S;
  // Readings from the page's opening on: those accepted while the subscription connects are
  // read back by it, not lost.
  const [since] = useState(() => new Date().toISOString());
  const [liveResult] = useSubscription(
    { query: TelemetrySubscription, variables: { deviceId: id, since }, pause: !data?.device },
    keepLive,
  );
  const live = liveResult.data?.readings ?? NO_READINGS;
  const [statusResult, changeStatus] = useMutation(ChangeStatusMutation);
  const [rotateResult, rotate] = useMutation(RotateCredentialsMutation);
  const [issued, setIssued] = useState<IssuedCredentials | null>(null);

  const device = data?.device;
  // The first accepted reading makes a provisioned device active: ask again once one arrives.
  const firstLive = live.length > 0;
  const provisioned = device?.status === "PROVISIONED";
  useEffect(() => {
    if (firstLive && provisioned) refetchDevice({ requestPolicy: "network-only" });
  }, [firstLive, provisioned, refetchDevice]);
  const metrics = device?.metrics ?? [];
  const metricParam = params.get("metric");
  const metric =
    metrics.find((m) => m.name === metricParam)?.name ??
    device?.latest[0]?.metric ??
    metrics[0]?.name ??
    "";
  const rangeParam = params.get("range");
  const range: RangeId = isRangeId(rangeParam) ? rangeParam : DEFAULT_RANGE;
  const tabParam = params.get("tab");
  const tab =
    tabParam === "dead-letters" || (tabParam === "gateway" && device?.kind === "EDGE_NODE")
      ? tabParam
      : "telemetry";

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  // The newest value of each metric: the node's answer, then what arrived live.
  const latest = useMemo(() => {
    const byMetric = new Map<string, { value: number; at: string; unit: string }>();
    for (const value of device?.latest ?? []) {
      byMetric.set(value.metric, { value: value.value, at: value.at, unit: value.unit });
    }
    for (const reading of live) {
      const known = byMetric.get(reading.metric);
      if (!known || Date.parse(known.at) <= Date.parse(reading.at)) {
        const unit = known?.unit ?? metrics.find((m) => m.name === reading.metric)?.unit ?? "";
        byMetric.set(reading.metric, { value: reading.value, at: reading.at, unit });
      }
    }
    return [...byMetric.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [device?.latest, live, metrics]);

  const lastSeen = useMemo(() => {
    const newestLive = live[live.length - 1]?.at;
    const known = device?.lastSeenAt;
    if (newestLive && (!known || Date.parse(newestLive) > Date.parse(known))) return newestLive;
    return known ?? null;
  }, [device?.lastSeenAt, live]);

  const transition = async (value: DeviceTransition) => {
    await changeStatus({ deviceId: id, transition: value });
  };
  const rotateCredentials = async () => {
    const answer = await rotate({ deviceId: id });
    const credentials = answer.data?.rotateDeviceCredentials;
    if (credentials) {
      setIssued({
        deviceId: credentials.device.id,
        username: credentials.username,
        password: credentials.password,
        telemetryTopic: credentials.device.telemetryTopic,
      });
    }
  };

  const canManage = viewer.can.provisionDevices !== false;
  const state = device ? presence({ ...device, lastSeenAt: lastSeen }, Date.now(), windowS) : null;

  return (
    <>
      <Link to="/devices">
        <ArrowLeftOutlined /> {t("detail.back")}
      </Link>
      <QueryState fetching={fetching} error={error} hasData={!!device} rows={8}>
        {device ? (
          <>
            <Space
              wrap
              style={{ width: "100%", justifyContent: "space-between", margin: "8px 0 16px" }}
            >
              <Space wrap align="center">
                <Typography.Title level={2} style={{ margin: 0 }}>
                  {device.name}
                </Typography.Title>
                {state ? (
                  <Tag color={PRESENCE_COLORS[state]} data-testid="device-presence">
                    {t(`presence.${state}`)}
                  </Tag>
                ) : null}
                <Tag color={STATUS_COLORS[device.status]} data-testid="device-status">
                  {t(`status.${device.status}`)}
                </Tag>
              </Space>
              {canManage && device.status !== "RETIRED" ? (
                <Space wrap>
                  {device.status === "SUSPENDED" ? (
                    <Button
                      loading={statusResult.fetching}
                      onClick={() => void transition("REACTIVATE")}
                    >
                      {t("detail.reactivate")}
                    </Button>
                  ) : (
                    <Popconfirm
                      title={t("detail.suspendConfirm")}
                      okText={t("detail.suspend")}
                      cancelText={t("provision.cancel")}
                      onConfirm={() => transition("SUSPEND")}
                    >
                      <Button loading={statusResult.fetching}>{t("detail.suspend")}</Button>
                    </Popconfirm>
                  )}
                  <Popconfirm
                    title={t("detail.rotateConfirm")}
                    okText={t("detail.rotate")}
                    cancelText={t("provision.cancel")}
                    onConfirm={() => rotateCredentials()}
                  >
                    <Button loading={rotateResult.fetching}>{t("detail.rotate")}</Button>
                  </Popconfirm>
                  <Popconfirm
                    title={t("detail.retireConfirm")}
                    okText={t("detail.retire")}
                    okButtonProps={{ danger: true }}
                    cancelText={t("provision.cancel")}
                    onConfirm={() => transition("RETIRE")}
                  >
                    <Button danger>{t("detail.retire")}</Button>
                  </Popconfirm>
                </Space>
              ) : null}
            </Space>
            {statusResult.error ? <ErrorNotice error={statusResult.error} /> : null}
            {rotateResult.error ? <ErrorNotice error={rotateResult.error} /> : null}
            <Card style={{ marginBottom: 16 }}>
              <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small">
                <Descriptions.Item label={t("detail.key")}>
                  <Typography.Text code>{device.key}</Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t("list.type")}>
                  <Link to={`/devices?type=${encodeURIComponent(device.type)}`}>{device.type}</Link>
                  {device.kind === "EDGE_NODE" ? (
                    <Tag style={{ marginLeft: 8 }}>{t("kind.EDGE_NODE")}</Tag>
                  ) : null}
                </Descriptions.Item>
                <Descriptions.Item label={t("list.factory")}>
                  <Link to={`/devices?factory=${device.factoryId}`}>
                    {byId.get(device.factoryId)?.name ?? device.factoryId}
                  </Link>
                </Descriptions.Item>
                <Descriptions.Item label={t("list.lastSeen")}>
                  {lastSeen ? (
                    <Tooltip title={format.dateTime(lastSeen)}>
                      <time dateTime={lastSeen}>{format.relative(lastSeen)}</time>
                    </Tooltip>
                  ) : (
                    "—"
                  )}
                </Descriptions.Item>
                <Descriptions.Item label={t("detail.topic")}>
                  <Typography.Text code>{device.telemetryTopic}</Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t("detail.created")}>
                  {format.dateTime(device.createdAt)}
                </Descriptions.Item>
              </Descriptions>
            </Card>
            <Tabs
              activeKey={tab}
              onChange={(key) => setParam("tab", key === "telemetry" ? null : key)}
              items={[
                {
                  key: "telemetry",
                  label: t("detail.telemetry"),
                  children: (
                    <>
                      <Card
                        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("detail.latest")}</h3>}
                        style={{ marginBottom: 16 }}
                      >
                        {latest.length > 0 ? (
                          <Row gutter={[16, 16]}>
                            {latest.map(([name, value]) => (
                              <Col key={name} xs={12} md={8} xl={6}>
                                <Statistic
                                  title={name}
                                  value={format.number(value.value, { maximumFractionDigits: 3 })}
                                  suffix={value.unit}
                                  data-testid={`latest-${name}`}
                                />
                                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                                  <Tooltip title={format.dateTime(value.at)}>
                                    <time dateTime={value.at}>{format.relative(value.at)}</time>
                                  </Tooltip>
                                </Typography.Text>
                              </Col>
                            ))}
                          </Row>
                        ) : (
                          <Empty description={t("detail.noReadings")} />
                        )}
                      </Card>
                      <Card
                        title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("detail.chart")}</h3>}
                      >
                        {metric ? (
                          <TelemetryChart
                            deviceId={device.id}
                            metrics={metrics}
                            metric={metric}
                            onMetric={(value) => setParam("metric", value)}
                            range={range}
                            onRange={(value) =>
                              setParam("range", value === DEFAULT_RANGE ? null : value)
                            }
                            live={live}
                          />
                        ) : (
                          <Empty description={t("detail.noMetrics")} />
                        )}
                      </Card>
                    </>
                  ),
                },
                ...(device.kind === "EDGE_NODE"
                  ? [
                      {
                        key: "gateway",
                        label: t("gateway.tab"),
                        children: (
                          <GatewayPanel
                            deviceId={device.id}
                            deviceKey={device.key}
                            factoryId={device.factoryId}
                            canManage={canManage && device.status !== "RETIRED"}
                          />
                        ),
                      },
                    ]
                  : []),
                ...(viewer.can.readDeadLetters !== false
                  ? [
                      {
                        key: "dead-letters",
                        label: t("tabs.deadLetters"),
                        children: <DeadLettersTable filter={{ deviceKey: device.key }} />,
                      },
                    ]
                  : []),
              ]}
            />
          </>
        ) : null}
      </QueryState>
      <CredentialsModal credentials={issued} onClose={() => setIssued(null)} />
    </>
  );
}
