import {
  App,
  Button,
  Card,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Select,
  Space,
  Table,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import type { Dayjs } from "dayjs";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketEntitlementKind, MarketEntitlementsQuery } from "../../gql/hub/graphql";
import {
  MarketEntitlementsQuery as EntitlementsDocument,
  MarketGrantEntitlement,
} from "./documents";

type Entitlement = MarketEntitlementsQuery["marketEntitlements"][number];
const GRANTABLE: MarketEntitlementKind[] = ["PER_NODE", "SUBSCRIPTION", "USAGE"];

interface GrantForm {
  kind: MarketEntitlementKind;
  node?: string;
  organizationId?: string;
  expiresAt?: Dayjs;
  unit?: string;
  limit?: number;
}

/** A listing's entitlements and the grant form (its publisher's view). */
export function Entitlements({ listingId }: { listingId: string }) {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const format = useFormat();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: EntitlementsDocument,
    variables: { listingId },
  });
  const [granted, grant] = useMutation(MarketGrantEntitlement);
  const [form] = Form.useForm<GrantForm>();
  const [kind, setKind] = useState<MarketEntitlementKind>("PER_NODE");
  const rows = data?.marketEntitlements ?? [];

  const submit = async (values: GrantForm) => {
    const result = await grant({
      input: {
        listingId,
        kind: values.kind,
        node: values.kind === "PER_NODE" ? values.node?.trim() : null,
        organizationId: values.kind !== "PER_NODE" ? values.organizationId?.trim() : null,
        expiresAt:
          values.kind === "SUBSCRIPTION" && values.expiresAt
            ? values.expiresAt.endOf("day").toISOString()
            : null,
        unit: values.kind === "USAGE" ? values.unit?.trim() : null,
        limit: values.kind === "USAGE" ? values.limit : null,
      },
    });
    if (result.data) {
      message.success(t("entitlements.granted"));
      form.resetFields(["node", "organizationId", "expiresAt", "unit", "limit"]);
      refetch({ requestPolicy: "network-only" });
    }
  };

  const columns: ColumnsType<Entitlement> = [
    {
      title: t("entitlements.kind"),
      dataIndex: "kind",
      render: (value: MarketEntitlementKind) => t(`entitlementKinds.${value}`),
    },
    {
      title: t("entitlements.holder"),
      key: "holder",
      render: (_, row) => (row.node ? <code>{row.node}</code> : <code>{row.organizationId}</code>),
    },
    {
      title: t("entitlements.expires"),
      dataIndex: "expiresAt",
      render: (value: string | null) => (value ? format.dateTime(value) : "—"),
    },
    {
      title: t("entitlements.usage"),
      key: "usage",
      render: (_, row) =>
        row.limit !== null && row.limit !== undefined
          ? `${format.number(row.used)} / ${format.number(row.limit)} ${row.unit ?? ""}`
          : "—",
    },
    { title: t("entitlements.grantedBy"), dataIndex: "grantedBy" },
    {
      title: t("entitlements.at"),
      dataIndex: "createdAt",
      render: (value: string) => format.dateTime(value),
    },
  ];

  return (
    <Card title={t("entitlements.title")} size="small" data-testid="entitlements">
      <QueryState
        fetching={fetching}
        error={error}
        hasData={rows.length > 0}
        empty={t("entitlements.empty")}
      >
        <Table<Entitlement>
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={rows}
          pagination={false}
          scroll={{ x: true }}
        />
      </QueryState>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t("entitlements.grant")}
      </Typography.Title>
      <Form<GrantForm>
        form={form}
        layout="vertical"
        name="grant-entitlement"
        initialValues={{ kind: "PER_NODE" }}
        onFinish={submit}
        onValuesChange={(changed: Partial<GrantForm>) => {
          if (changed.kind) setKind(changed.kind);
        }}
      >
        <Space wrap align="start">
          <Form.Item name="kind" label={t("entitlements.kind")}>
            <Select
              style={{ width: 180 }}
              options={GRANTABLE.map((value) => ({
                value,
                label: t(`entitlementKinds.${value}`),
              }))}
            />
          </Form.Item>
          {kind === "PER_NODE" ? (
            <Form.Item
              name="node"
              label={t("entitlements.node")}
              rules={[{ required: true, whitespace: true, message: t("form.required") }]}
            >
              <Input maxLength={63} style={{ width: 220 }} />
            </Form.Item>
          ) : (
            <Form.Item
              name="organizationId"
              label={t("entitlements.organization")}
              rules={[{ required: true, whitespace: true, message: t("form.required") }]}
            >
              <Input maxLength={36} style={{ width: 320 }} placeholder="00000000-0000-…" />
            </Form.Item>
          )}
          {kind === "SUBSCRIPTION" ? (
            <Form.Item
              name="expiresAt"
              label={t("entitlements.expires")}
              rules={[{ required: true, message: t("form.required") }]}
            >
              <DatePicker />
            </Form.Item>
          ) : null}
          {kind === "USAGE" ? (
            <>
              <Form.Item
                name="unit"
                label={t("entitlements.unit")}
                rules={[{ required: true, whitespace: true, message: t("form.required") }]}
              >
                <Input maxLength={64} style={{ width: 160 }} />
              </Form.Item>
              <Form.Item
                name="limit"
                label={t("entitlements.limit")}
                rules={[{ required: true, message: t("form.required") }]}
              >
                <InputNumber min={1} max={1_000_000_000} precision={0} />
              </Form.Item>
            </>
          ) : null}
        </Space>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={granted.fetching}>
            {t("entitlements.grantButton")}
          </Button>
        </Form.Item>
      </Form>
      {granted.error ? (
        <ErrorNotice error={granted.error} title={t("entitlements.failed")} />
      ) : null}
    </Card>
  );
}
