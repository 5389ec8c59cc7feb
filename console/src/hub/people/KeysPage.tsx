import { SyncOutlined } from "@ant-design/icons";
import { Alert, App, Button, Popconfirm, Space, Switch, Table, Tabs, Tag, Typography } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { PagedTable } from "../../components/ListPage";
import { describeError, QueryState } from "../../components/QueryState";
import {
  PeopleRevokedTokensQuery,
  PeopleRotateSigningKey,
  PeopleSigningKeysQuery,
} from "./documents";
import { oneOf, withParams } from "./people";
import { errorText } from "./SecretModal";

const TABS = ["keys", "revocations"] as const;
const PAGE = 50;
const STATUS_COLOURS: Record<string, string> = {
  ACTIVE: "success",
  PREVIOUS: "processing",
  RETIRED: "default",
};

function SigningKeys() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const viewer = useViewer();
  const { message } = App.useApp();
  const [{ data, fetching, error }, refetch] = useQuery({ query: PeopleSigningKeysQuery });
  const [rotating, rotate] = useMutation(PeopleRotateSigningKey);
  const keys = data?.signingKeys ?? [];
  const active = keys.find((key) => key.status === "ACTIVE");
  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <Typography.Text>
          {t("keys.active")}{" "}
          {active ? (
            <Typography.Text code data-testid="active-kid">
              {active.kid}
            </Typography.Text>
          ) : (
            "—"
          )}
        </Typography.Text>
        {viewer.can.rotateKeys !== false ? (
          <Popconfirm
            title={t("keys.rotateTitle")}
            description={t("keys.rotateText")}
            okText={t("keys.rotate")}
            cancelText={t("cancel")}
            onConfirm={async () => {
              const result = await rotate({});
              if (result.error) {
                void message.error(errorText(describeError(result.error)));
                return;
              }
              void message.success(
                t("keys.rotated", { kid: result.data?.rotateSigningKey.kid ?? "" }),
              );
              refetch({ requestPolicy: "network-only" });
            }}
          >
            <Button type="primary" icon={<SyncOutlined />} loading={rotating.fetching}>
              {t("keys.rotate")}
            </Button>
          </Popconfirm>
        ) : null}
      </Space>
      <Typography.Paragraph type="secondary">{t("keys.explain")}</Typography.Paragraph>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={keys.length > 0}
        empty={t("keys.empty")}
      >
        <Table
          data-testid="keys-table"
          rowKey="kid"
          size="small"
          pagination={false}
          dataSource={keys}
          columns={[
            { title: t("keys.kid"), dataIndex: "kid", render: (kid: string) => <code>{kid}</code> },
            {
              title: t("status"),
              dataIndex: "status",
              render: (status: string) => (
                <Tag color={STATUS_COLOURS[status]}>{t(`keys.statuses.${status}`)}</Tag>
              ),
            },
            { title: t("keys.algorithm"), dataIndex: "algorithm" },
            {
              title: t("keys.encrypted"),
              dataIndex: "encrypted",
              render: (encrypted: boolean) => (encrypted ? t("yes") : t("no")),
            },
            {
              title: t("createdAt"),
              dataIndex: "createdAt",
              render: (at: string) => format.dateTime(at),
            },
            {
              title: t("keys.rotatedAt"),
              dataIndex: "rotatedAt",
              render: (at: string | null) => format.dateTime(at),
            },
          ]}
        />
      </QueryState>
    </>
  );
}

function Revocations() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const includeExpired = params.get("expired") === "1";
  const pages = useCursorPages();
  const variables = useMemo(
    () => ({ first: PAGE, after: pages.after, includeExpired }),
    [pages.after, includeExpired],
  );
  const [{ data, fetching, error }] = useQuery({ query: PeopleRevokedTokensQuery, variables });
  const rows = data?.revokedTokens.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <Switch
          id="include-expired"
          checked={includeExpired}
          onChange={(checked) => {
            pages.reset();
            setParams(withParams(params, { expired: checked ? "1" : null }));
          }}
          aria-label={t("revocations.includeExpired")}
        />
        <label htmlFor="include-expired">{t("revocations.includeExpired")}</label>
        <Typography.Text type="secondary">
          {data?.revokedTokens.totalCount != null
            ? t("total", { count: data.revokedTokens.totalCount })
            : null}
        </Typography.Text>
      </Space>
      <Typography.Paragraph type="secondary">{t("revocations.explain")}</Typography.Paragraph>
      <PagedTable
        testId="revocations-table"
        rowKey="seq"
        fetching={fetching}
        error={error}
        empty={t("revocations.empty")}
        rows={rows}
        columns={[
          { title: "#", dataIndex: "seq", render: (seq: number) => format.number(seq) },
          {
            title: t("revocations.jti"),
            dataIndex: "jti",
            render: (jti: string) => <code>{jti}</code>,
          },
          {
            title: t("revocations.client"),
            dataIndex: "clientId",
            render: (clientId: string | null) => (clientId ? <code>{clientId}</code> : "—"),
          },
          {
            title: t("revocations.revokedAt"),
            dataIndex: "revokedAt",
            render: (at: string) => format.dateTime(at),
          },
          {
            title: t("revocations.expiresAt"),
            dataIndex: "expiresAt",
            render: (at: string) => format.dateTime(at),
          },
        ]}
        pages={pages}
        pageInfo={data?.revokedTokens.pageInfo}
      />
    </>
  );
}

/** The token signing keys and their rotation; the revoked token ids. */
export default function KeysPage() {
  const { t } = useTranslation("people");
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const tab = oneOf(params, "tab", TABS) ?? "keys";
  const items = [
    { key: "keys", label: t("keys.tab"), children: <SigningKeys /> },
    ...(viewer.can.revokeTokens !== false
      ? [{ key: "revocations", label: t("revocations.tab"), children: <Revocations /> }]
      : []),
  ];
  return (
    <>
      <Typography.Title level={2}>{t("keys.title")}</Typography.Title>
      {viewer.loaded && viewer.can.rotateKeys === false ? (
        <Alert type="info" showIcon title={t("keys.notAllowed")} style={{ marginBottom: 16 }} />
      ) : null}
      <Tabs
        activeKey={tab}
        onChange={(key) =>
          setParams(withParams(new URLSearchParams(), { tab: key === "keys" ? null : key }))
        }
        items={items}
      />
    </>
  );
}
