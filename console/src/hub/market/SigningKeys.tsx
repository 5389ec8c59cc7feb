import { App, Button, Card, Form, Input, Popconfirm, Select, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useTranslation } from "react-i18next";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketKeysQuery as KeysData, MarketKeyKind } from "../../gql/hub/graphql";
import { MarketKeysQuery, MarketRegisterKey, MarketRetireKey } from "./documents";

type Key = KeysData["marketKeys"][number];

/** The organization's signing keys: publishers sign releases with theirs, reviewers
 * countersign with theirs; `yunfab market keygen` prints the public half to register here. */
export function SigningKeys() {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const format = useFormat();
  const viewer = useViewer();
  const [{ data, fetching, error }, refetch] = useQuery({ query: MarketKeysQuery });
  const [registered, register] = useMutation(MarketRegisterKey);
  const [retired, retire] = useMutation(MarketRetireKey);
  const [form] = Form.useForm<{ publicKey: string; kind: MarketKeyKind }>();
  const kinds: MarketKeyKind[] = [
    ...(viewer.can.publishReleases === true ? (["PUBLISHER"] as const) : []),
    ...(viewer.can.reviewReleases === true ? (["REVIEWER"] as const) : []),
  ];
  const keys = data?.marketKeys ?? [];
  const reload = () => refetch({ requestPolicy: "network-only" });

  const columns: ColumnsType<Key> = [
    { title: t("keys.keyId"), dataIndex: "keyId", render: (v: string) => <code>{v}</code> },
    {
      title: t("keys.kind"),
      dataIndex: "kind",
      render: (v: MarketKeyKind) => t(`keys.kinds.${v}`),
    },
    {
      title: t("keys.status"),
      dataIndex: "status",
      render: (v: string) => t(`keys.statuses.${v}`),
    },
    {
      title: t("keys.publicKey"),
      dataIndex: "publicKey",
      render: (v: string) => (
        <Typography.Text code copyable={{ text: v }} style={{ wordBreak: "break-all" }}>
          {v}
        </Typography.Text>
      ),
    },
    {
      title: t("keys.created"),
      dataIndex: "createdAt",
      render: (v: string) => format.dateTime(v),
    },
    {
      title: t("keys.actions"),
      key: "actions",
      render: (_, key) =>
        key.status === "ACTIVE" && kinds.includes(key.kind) ? (
          <Popconfirm
            title={t("keys.retireConfirm", { key: key.keyId })}
            okText={t("keys.retire")}
            cancelText={t("cancel")}
            onConfirm={async () => {
              const result = await retire({ keyId: key.keyId, kind: key.kind });
              if (result.data) {
                message.success(t("keys.retired", { key: key.keyId }));
                reload();
              }
            }}
          >
            <Button size="small" danger>
              {t("keys.retire")}
            </Button>
          </Popconfirm>
        ) : null,
    },
  ];

  return (
    <Card size="small" title={t("keys.title")} data-testid="signing-keys">
      <Typography.Paragraph type="secondary">{t("keys.explain")}</Typography.Paragraph>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={keys.length > 0}
        empty={t("keys.empty")}
      >
        <Table<Key>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={keys}
          pagination={false}
          scroll={{ x: true }}
        />
      </QueryState>
      {retired.error ? <ErrorNotice error={retired.error} title={t("keys.retireFailed")} /> : null}
      {kinds.length > 0 ? (
        <Form
          form={form}
          layout="vertical"
          name="register-key"
          initialValues={{ kind: kinds[0] }}
          style={{ marginTop: 16 }}
          onFinish={async (values) => {
            const result = await register({
              publicKey: values.publicKey.trim(),
              kind: values.kind,
            });
            if (result.data) {
              message.success(t("keys.registered", { key: result.data.registerSigningKey.keyId }));
              form.resetFields(["publicKey"]);
              reload();
            }
          }}
        >
          <Space wrap align="end">
            <Form.Item
              name="publicKey"
              label={t("keys.publicKey")}
              extra={t("keys.publicKeyHelp")}
              rules={[{ required: true, whitespace: true, message: t("form.required") }]}
            >
              <Input maxLength={64} style={{ width: 420 }} data-testid="public-key" />
            </Form.Item>
            <Form.Item name="kind" label={t("keys.kind")}>
              <Select
                style={{ width: 160 }}
                options={kinds.map((kind) => ({ value: kind, label: t(`keys.kinds.${kind}`) }))}
              />
            </Form.Item>
            <Form.Item>
              <Button type="primary" htmlType="submit" loading={registered.fetching}>
                {t("keys.register")}
              </Button>
            </Form.Item>
          </Space>
        </Form>
      ) : null}
      {registered.error ? (
        <ErrorNotice error={registered.error} title={t("keys.registerFailed")} />
      ) : null}
    </Card>
  );
}
