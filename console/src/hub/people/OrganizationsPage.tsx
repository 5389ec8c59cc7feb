import { App, Card, Form, Input, Select, Space, Tag } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useCursorPages } from "../../components/CursorPager";
import { FormModal } from "../../components/FormModal";
import { useFormat } from "../../components/format";
import { ChoiceFilter, ListHeader, PagedTable, SearchFilter } from "../../components/ListPage";
import { describeError } from "../../components/QueryState";
import type { PeopleOrganizationFieldsFragment as Organization } from "../../gql/hub/graphql";
import { PeopleCreateOrganization, PeopleOrganizationsQuery } from "./documents";
import {
  ORGANIZATION_KINDS,
  type OrganizationKindName,
  oneOf,
  textParam,
  withParams,
} from "./people";
import { errorText } from "./SecretModal";

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
    <FormModal
      open={open}
      title={t("organizations.create")}
      okText={t("organizations.createOk")}
      cancelText={t("cancel")}
      onOk={submit}
      confirmLoading={state.fetching}
      onCancel={() => onClose()}
      problem={problem}
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
    </FormModal>
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
      <ListHeader
        title={t("organizations.title")}
        createLabel={t("organizations.create")}
        canCreate={viewer.can.createOrganizations}
        onCreate={() => setCreating(true)}
      />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap>
          <SearchFilter
            label={t("organizations.search")}
            value={text}
            onSearch={(q) => update({ q })}
          />
          <ChoiceFilter
            label={t("organizations.kind")}
            placeholder={t("organizations.anyKind")}
            width={200}
            value={kind}
            onChange={(value) => update({ kind: value })}
            options={ORGANIZATION_KINDS.map((value) => ({ value, label: t(`kinds.${value}`) }))}
          />
        </Space>
      </Card>
      <PagedTable<Organization>
        testId="organizations-table"
        rowKey="id"
        fetching={fetching}
        error={error}
        empty={t("organizations.empty")}
        rows={rows}
        columns={columns}
        pages={pages}
        pageInfo={data?.organizations.pageInfo}
      />
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
