import { KeyOutlined, PlusOutlined } from "@ant-design/icons";
import { Button, Card, Input, Select, Space, Table, Tag, Tooltip, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type { DeviceStatus, DevicesListQuery as DevicesListResult } from "../../gql/node/graphql";
import { ClaimCodeModal, type IssuedClaimCode } from "./ClaimCodeModal";
import { CredentialsModal, type IssuedCredentials } from "./CredentialsModal";
import { DevicesTabs } from "./DevicesTabs";
import { NewGatewayModal } from "./NewGatewayModal";
import { ProvisionDeviceModal } from "./ProvisionDeviceModal";
import { DevicesListQuery, OnlineWindowQuery } from "./queries";
import { DEFAULT_ONLINE_WINDOW_S, PRESENCE_COLORS, presence, STATUS_COLORS } from "./status";
import { useFactoryChoices } from "./useFactoryNames";

type DeviceRow = DevicesListResult["devices"]["edges"][number]["node"];
const pickDevices = (data: DevicesListResult) => data.devices;

const PAGE_SIZE = 50;
const STATUSES: DeviceStatus[] = ["PROVISIONED", "ACTIVE", "SUSPENDED", "RETIRED"];

function isStatus(value: string | null): value is DeviceStatus {
  return value !== null && (STATUSES as string[]).includes(value);
}

export default function DevicesListPage() {
  const { t } = useTranslation("devices");
  const format = useFormat();
  const viewer = useViewer();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const factoryId = params.get("factory");
  const statusParam = params.get("status");
  const status = isStatus(statusParam) ? statusParam : null;
  const type = params.get("type");
  const [searchText, setSearchText] = useState(search);
  const [provisioning, setProvisioning] = useState(false);
  const [issued, setIssued] = useState<IssuedCredentials | null>(null);
  const [claiming, setClaiming] = useState(false);
  const [claimCode, setClaimCode] = useState<IssuedClaimCode | null>(null);
  const { factories, byId } = useFactoryChoices();

  const variables = useMemo(
    () => ({
      search: search || null,
      factoryId,
      status,
      type: type || null,
      first: PAGE_SIZE,
    }),
    [search, factoryId, status, type],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: DevicesListQuery, variables });
  const [windowResult] = useQuery({
    query: OnlineWindowQuery,
    pause: viewer.can.readOverview !== true,
  });
  const windowS = windowResult.data?.overview.devices.windowS ?? DEFAULT_ONLINE_WINDOW_S;
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);

  useEffect(() => setSearchText(search), [search]);

  const firstPage = data?.devices;
  const pages = useLoadMore(DevicesListQuery, variables, firstPage, pickDevices);
  const { rows, hasNext } = pages;

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const columns: ColumnsType<DeviceRow> = [
    {
      title: t("list.device"),
      key: "device",
      render: (_, device) => (
        <Space orientation="vertical" size={0}>
          <Link to={`/devices/${device.id}`} data-testid={`device-link-${device.key}`}>
            {device.name}
          </Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {device.key}
          </Typography.Text>
        </Space>
      ),
    },
    {
      title: t("list.presence"),
      key: "presence",
      render: (_, device) => {
        const state = presence(device, now, windowS);
        return (
          <Tag color={PRESENCE_COLORS[state]} data-testid="device-presence">
            {t(`presence.${state}`)}
          </Tag>
        );
      },
    },
    {
      title: t("list.lastSeen"),
      dataIndex: "lastSeenAt",
      render: (value: string | null) =>
        value ? (
          <Tooltip title={format.dateTime(value)}>
            <time dateTime={value}>{format.relative(value)}</time>
          </Tooltip>
        ) : (
          "—"
        ),
    },
    {
      title: t("list.status"),
      dataIndex: "status",
      render: (value: string) => <Tag color={STATUS_COLORS[value]}>{t(`status.${value}`)}</Tag>,
    },
    {
      title: t("list.factory"),
      dataIndex: "factoryId",
      render: (value: string) => byId.get(value)?.name ?? value,
    },
    {
      title: t("list.type"),
      dataIndex: "type",
      render: (value: string, device) => (
        <Space size={4}>
          <Button
            type="link"
            size="small"
            style={{ padding: 0 }}
            onClick={() => setParam("type", value)}
            aria-label={t("list.filterByType", { type: value })}
          >
            {value}
          </Button>
          {device.kind === "EDGE_NODE" ? <Tag>{t("kind.EDGE_NODE")}</Tag> : null}
        </Space>
      ),
    },
  ];

  return (
    <>
      <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
        <Typography.Title level={2} style={{ margin: 0 }}>
          {t("title")}
        </Typography.Title>
        {viewer.can.provisionDevices !== false ? (
          <Space wrap>
            <Button icon={<KeyOutlined />} onClick={() => setClaiming(true)}>
              {t("gateway.new")}
            </Button>
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setProvisioning(true)}>
              {t("provision.open")}
            </Button>
          </Space>
        ) : null}
      </Space>
      <DevicesTabs active="devices" />
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Input.Search
            aria-label={t("list.search")}
            placeholder={t("list.searchPlaceholder")}
            allowClear
            value={searchText}
            onChange={(event) => setSearchText(event.target.value)}
            onSearch={(value) => setParam("q", value.trim() || null)}
            style={{ width: 260 }}
          />
          <Select
            aria-label={t("list.factory")}
            showSearch={{ optionFilterProp: "label" }}
            value={factoryId ?? ""}
            onChange={(value: string) => setParam("factory", value || null)}
            options={[
              { value: "", label: t("list.allFactories") },
              ...factories.map((factory) => ({ value: factory.id, label: factory.name })),
            ]}
            style={{ width: 240 }}
          />
          <Select
            aria-label={t("list.status")}
            value={status ?? ""}
            onChange={(value: string) => setParam("status", value || null)}
            options={[
              { value: "", label: t("list.allStatuses") },
              ...STATUSES.map((value) => ({ value, label: t(`status.${value}`) })),
            ]}
            style={{ width: 160 }}
          />
          {type ? (
            <Tag closable onClose={() => setParam("type", null)}>
              {t("list.typeFilter", { type })}
            </Tag>
          ) : null}
          {firstPage && typeof firstPage.totalCount === "number" ? (
            <Typography.Text type="secondary" data-testid="devices-total">
              {t("list.total", {
                count: firstPage.totalCount,
                formatted: format.number(firstPage.totalCount),
              })}
            </Typography.Text>
          ) : null}
        </Space>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("list.empty")}
          rows={6}
        >
          <Table<DeviceRow>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            pagination={false}
            scroll={{ x: "max-content" }}
            onRow={(device) => ({
              onDoubleClick: () => navigate(`/devices/${device.id}`),
            })}
          />
          {pages.error ? <ErrorNotice error={pages.error} /> : null}
          {hasNext ? (
            <div style={{ textAlign: "center", marginTop: 16 }}>
              <Button onClick={() => void pages.loadMore()} loading={pages.loading}>
                {t("list.loadMore")}
              </Button>
            </div>
          ) : null}
        </QueryState>
      </Card>
      <ProvisionDeviceModal
        open={provisioning}
        factories={factories.filter((factory) => factory.active)}
        defaultFactoryId={factoryId}
        onClose={() => setProvisioning(false)}
        onProvisioned={(credentials) => {
          setProvisioning(false);
          setIssued(credentials);
          refetch({ requestPolicy: "network-only" });
        }}
      />
      <NewGatewayModal
        open={claiming}
        factories={factories.filter((factory) => factory.active)}
        defaultFactoryId={factoryId}
        onClose={() => setClaiming(false)}
        onIssued={(code) => {
          setClaiming(false);
          setClaimCode(code);
        }}
      />
      <ClaimCodeModal issued={claimCode} onClose={() => setClaimCode(null)} />
      <CredentialsModal
        credentials={issued}
        onClose={() => {
          const id = issued?.deviceId;
          setIssued(null);
          if (id) navigate(`/devices/${id}`);
        }}
        closeLabel={t("credentials.openDevice")}
      />
    </>
  );
}
