import { PlusOutlined } from "@ant-design/icons";
import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { describeError, QueryState } from "../../components/QueryState";
import type { PeopleOrganizationsQuery as OrganizationsData } from "../../gql/hub/graphql";
import { PeopleCreateOrganization, PeopleOrganizationsQuery } from "./documents";
import {
  ORGANIZATION_KINDS,
  type OrganizationKindName,
  oneOf,
  textParam,
  withParams,
} from "./people";
import { errorText } from "./SecretModal";

type Organization = OrganizationsData["organizations"]["edges"][number]["node"];

const PAGE = 50;

function CreateOrganizationModal({
  open,
  onClose,
}: {
  open: boolean;
  onClose: (created?: { id: string; name: string }) => void;
}) {
  const { t } = useTranslation("people");
  const [form] = Form.useForm<{ name: string; kind: OrganizationKindName }>();
  const [state, create] = useMutation(PeopleCreateOrganization);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async () => {
    const values = await form.validateFields();
    const result = await create({ input: { name: values.name.trim(), kind: values.kind } });
    if (result.error) {
      setProblem(errorText(describeError(result.error)));
      return;
    }
    if (result.data) {
      form.resetFields();
      setProblem(null);
      onClose(result.data.createOrganization);
    }
  };
  return (
    <Modal
      open={open}
      title={t("organizations.create")}
      okText={t("organizations.createOk")}
      cancelText={t("cancel")}
      onOk={submit}
      confirmLoading={state.fetching}
      onCancel={() => onClose()}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" initialValues={{ kind: "FACTORY" }}>
        <Form.Item
          name="name"
          label={t("organizations.name")}
          rules={[
            { required: true, whitespace: true, max: 200, message: t("organizations.nameRule") },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="kind" label={t("organizations.kind")} rules={[{ required: true }]}>
          <Select
            options={ORGANIZATION_KINDS.map((kind) => ({ value: kind, label: t(`kinds.${kind}`) }))}
          />
        </Form.Item>
      </Form>
      {problem ? (
        <Typography.Text type="danger" role="alert">
          {problem}
        </Typography.Text>
      ) : null}
    </Modal>
  );
}

export default function OrganizationsPage() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const viewer = useViewer();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const kind = oneOf(params, "kind", ORGANIZATION_KINDS);
  const text = textParam(params, "q");
  const [draft, setDraft] = useState(text ?? "");
  useEffect(() => setDraft(text ?? ""), [text]);
  const pages = useCursorPages();
  const [creating, setCreating] = useState(false);
  const variables = useMemo(
    () => ({ first: PAGE, after: pages.after, kind, text }),
    [pages.after, kind, text],
  );
  const [{ data, fetching, error }, refetch] = useQuery({
    query: PeopleOrganizationsQuery,
    variables,
  });
  const update = (changes: Record<string, string | null>) => {
    pages.reset();
    setParams(withParams(params, changes));
  };
  const rows = data?.organizations.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Organization> = [
    {
      title: t("organizations.name"),
      dataIndex: "name",
      render: (name: string, row) => <Link to={`/organizations/${row.id}`}>{name}</Link>,
    },
    {
      title: t("organizations.kind"),
      dataIndex: "kind",
      render: (value: OrganizationKindName) => <Tag>{t(`kinds.${value}`)}</Tag>,
    },
    {
      title: t("createdAt"),
      dataIndex: "createdAt",
      render: (at: string) => format.dateTime(at),
    },
  ];
  return (
    <>
      <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
        <Typography.Title level={2}>{t("organizations.title")}</Typography.Title>
        {viewer.can.createOrganizations !== false ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
            {t("organizations.create")}
          </Button>
        ) : null}
      </Space>
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap>
          <Input.Search
            aria-label={t("organizations.search")}
            placeholder={t("organizations.search")}
            allowClear
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onSearch={(value) => update({ q: value.trim() || null })}
            style={{ width: 260 }}
          />
          <Select
            aria-label={t("organizations.kind")}
            allowClear
            placeholder={t("organizations.anyKind")}
            style={{ width: 200 }}
            value={kind ?? undefined}
            onChange={(value?: string) => update({ kind: value ?? null })}
            options={ORGANIZATION_KINDS.map((value) => ({ value, label: t(`kinds.${value}`) }))}
          />
        </Space>
      </Card>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={rows.length > 0}
        empty={t("organizations.empty")}
      >
        <Table<Organization>
          data-testid="organizations-table"
          rowKey="id"
          size="small"
          columns={columns}
          dataSource={rows}
          pagination={false}
        />
      </QueryState>
      <CursorPager pages={pages} pageInfo={data?.organizations.pageInfo} showPage />
      <CreateOrganizationModal
        open={creating}
        onClose={(created) => {
          setCreating(false);
          if (created) {
            void message.success(t("organizations.created", { name: created.name }));
            refetch({ requestPolicy: "network-only" });
            navigate(`/organizations/${created.id}`);
          }
        }}
      />
    </>
  );
}
