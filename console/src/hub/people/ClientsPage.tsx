import {
  App,
  Button,
  Card,
  Checkbox,
  Dropdown,
  Form,
  Input,
  Select,
  Space,
  Tag,
  Tooltip,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useCursorPages } from "../../components/CursorPager";
import { FormModal } from "../../components/FormModal";
import { useFormat } from "../../components/format";
import { ChoiceFilter, ListHeader, PagedTable, SearchFilter } from "../../components/ListPage";
import { describeError } from "../../components/QueryState";
import { useConfirmedMutation } from "../../components/useConfirmedMutation";
import type { PeopleClientFieldsFragment as Client } from "../../gql/hub/graphql";
import {
  PeopleClientsQuery,
  PeopleCreateClient,
  PeopleDisableClient,
  PeopleEnableClient,
  PeopleOrganizationQuery,
  PeopleRotateClientSecret,
  PeopleScopesQuery,
} from "./documents";
import { OrganizationSelect } from "./OrganizationSelect";
import {
  CLIENT_KINDS,
  type ClientKindName,
  disabledFilter,
  lines,
  oneOf,
  redirectUriProblem,
  STATUSES,
  textParam,
  withParams,
} from "./people";
import { errorText, SecretModal, type ShownSecret } from "./SecretModal";

const PAGE = 50;

interface NewClientValues {
  organization: string;
  name: string;
  kind: ClientKindName;
  scopes: string[];
  redirectUris?: string;
  nodeName?: string;
  region?: string;
  public?: boolean;
}

function CreateClientModal({
  open,
  organization,
  onClose,
}: {
  open: boolean;
  organization: string | undefined;
  onClose: (created?: { clientId: string; secret: string | null }) => void;
}) {
  const { t } = useTranslation("people");
  const [form] = Form.useForm<NewClientValues>();
  const kind = Form.useWatch("kind", form);
  const [state, create] = useMutation(PeopleCreateClient);
  const [scopes] = useQuery({ query: PeopleScopesQuery, pause: !open });
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (open) form.setFieldsValue({ organization });
  }, [open, organization, form]);
  const submit = async () => {
    const values = await form.validateFields();
    const result = await create({
      input: {
        organization: values.organization,
        name: values.name.trim(),
        kind: values.kind,
        scopes: values.scopes ?? [],
        redirectUris: lines(values.redirectUris),
        nodeName: values.kind === "NODE" ? values.nodeName?.trim() || null : null,
        region: values.kind === "NODE" ? values.region?.trim() || null : null,
        public: values.kind === "APP" && values.public === true,
      },
    });
    if (result.error) {
      setProblem(errorText(describeError(result.error)));
      return;
    }
    if (result.data) {
      form.resetFields();
      setProblem(null);
      const created = result.data.createApiClient;
      onClose({ clientId: created.client.clientId, secret: created.secret ?? null });
    }
  };
  const scopeOptions = (scopes.data?.oauthScopes ?? []).map((scope) => ({
    value: scope.name,
    label: (
      <Tooltip title={scope.description}>
        <code>{scope.name}</code>
      </Tooltip>
    ),
  }));
  return (
    <FormModal
      open={open}
      width={720}
      title={t("clients.create")}
      okText={t("clients.createOk")}
      cancelText={t("cancel")}
      onOk={submit}
      confirmLoading={state.fetching}
      onCancel={() => onClose()}
      problem={problem}
    >
      <Form form={form} layout="vertical" initialValues={{ kind: "PLATFORM", scopes: [] }}>
        <Form.Item
          name="organization"
          label={t("clients.organization")}
          rules={[{ required: true, message: t("users.organizationRule") }]}
        >
          <OrganizationSelect />
        </Form.Item>
        <Form.Item
          name="name"
          label={t("clients.name")}
          rules={[{ required: true, whitespace: true, max: 200, message: t("clients.nameRule") }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="kind" label={t("clients.kind")} rules={[{ required: true }]}>
          <Select
            options={CLIENT_KINDS.map((value) => ({ value, label: t(`clientKinds.${value}`) }))}
          />
        </Form.Item>
        <Form.Item name="scopes" label={t("clients.scopes")} extra={t("clients.scopesNote")}>
          <Checkbox.Group options={scopeOptions} />
        </Form.Item>
        {kind === "APP" ? (
          <>
            <Form.Item
              name="redirectUris"
              label={t("clients.redirectUris")}
              extra={t("clients.redirectUrisNote")}
              rules={[
                {
                  validator: async (_, value?: string) => {
                    const uris = lines(value);
                    if (uris.length === 0) throw new Error(t("clients.redirectNeeded"));
                    for (const uri of uris) {
                      const bad = redirectUriProblem(uri);
                      if (bad) throw new Error(t(`clients.redirectBad.${bad}`, { uri }));
                    }
                  },
                },
              ]}
            >
              <Input.TextArea rows={3} />
            </Form.Item>
            <Form.Item name="public" valuePropName="checked">
              <Checkbox>{t("clients.public")}</Checkbox>
            </Form.Item>
          </>
        ) : null}
        {kind === "NODE" ? (
          <Space wrap>
            <Form.Item
              name="nodeName"
              label={t("clients.nodeName")}
              rules={[{ required: true, message: t("clients.nodeRule") }]}
            >
              <Input autoComplete="off" />
            </Form.Item>
            <Form.Item
              name="region"
              label={t("clients.region")}
              rules={[{ required: true, message: t("clients.nodeRule") }]}
            >
              <Input autoComplete="off" />
            </Form.Item>
          </Space>
        ) : null}
      </Form>
    </FormModal>
  );
}

function ClientActions({
  client,
  onSecret,
  onDone,
}: {
  client: Client;
  onSecret: (clientId: string, secret: string) => void;
  onDone: () => void;
}) {
  const { t } = useTranslation("people");
  const viewer = useViewer();
  const { message } = App.useApp();
  const [, rotate] = useMutation(PeopleRotateClientSecret);
  const [, disable] = useMutation(PeopleDisableClient);
  const [, enable] = useMutation(PeopleEnableClient);
  const failed = (error: CombinedError) => void message.error(errorText(describeError(error)));
  const confirm = useConfirmedMutation(t("cancel"), failed);
  if (viewer.can.manageClients === false) return null;
  const items = [
    ...(client.public ? [] : [{ key: "rotate", label: t("clients.rotateSecret") }]),
    client.disabledAt
      ? { key: "enable", label: t("clients.enable") }
      : { key: "disable", label: t("clients.disable"), danger: true },
  ];
  const done = (text: string) => {
    void message.success(text);
    onDone();
  };
  const onClick = ({ key }: { key: string }) => {
    if (key === "rotate")
      confirm({
        title: t("clients.rotateTitle", { name: client.name }),
        content: t("clients.rotateText"),
        okText: t("clients.rotateSecret"),
        run: () => rotate({ id: client.id }),
        onSuccess: (result) => {
          const secret = result.data?.rotateApiClientSecret.secret;
          if (secret) onSecret(client.clientId, secret);
          onDone();
        },
      });
    if (key === "disable")
      confirm({
        title: t("clients.disableTitle", { name: client.name }),
        content: t("clients.disableText"),
        okText: t("clients.disable"),
        run: () => disable({ id: client.id }),
        onSuccess: () => done(t("clients.disabled", { name: client.name })),
      });
    if (key === "enable")
      confirm({
        title: t("clients.enableTitle", { name: client.name }),
        content: t("clients.enableText"),
        okText: t("clients.enable"),
        run: () => enable({ id: client.id }),
        onSuccess: () => done(t("clients.enabled", { name: client.name })),
      });
  };
  return (
    <Dropdown menu={{ items, onClick }} trigger={["click"]}>
      <Button size="small" aria-label={t("clients.actionsFor", { name: client.name })}>
        {t("actions")}
      </Button>
    </Dropdown>
  );
}

export default function ClientsPage() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const search = textParam(params, "q");
  const kind = oneOf(params, "kind", CLIENT_KINDS);
  const status = oneOf(params, "status", STATUSES);
  const orgId = textParam(params, "org", 36);
  const pages = useCursorPages();
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<ShownSecret | null>(null);
  const variables = useMemo(
    () => ({
      first: PAGE,
      after: pages.after,
      filter: { search, kind, organizationId: orgId, disabled: disabledFilter(status) },
    }),
    [pages.after, search, kind, orgId, status],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: PeopleClientsQuery, variables });
  const [org] = useQuery({
    query: PeopleOrganizationQuery,
    variables: { id: orgId ?? "" },
    pause: !orgId,
  });
  const reload = () => refetch({ requestPolicy: "network-only" });
  const update = (changes: Record<string, string | null>) => {
    pages.reset();
    setParams(withParams(params, changes));
  };
  const showSecret = (clientId: string, secret: string) =>
    setShown({
      title: t("clients.secretTitle"),
      subjectLabel: t("clients.clientId"),
      subject: clientId,
      secretLabel: t("clients.secret"),
      secret,
    });
  const rows = data?.apiClients.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<Client> = [
    { title: t("clients.name"), dataIndex: "name" },
    {
      title: t("clients.clientId"),
      dataIndex: "clientId",
      render: (clientId: string) => (
        <Typography.Text code copyable>
          {clientId}
        </Typography.Text>
      ),
    },
    {
      title: t("clients.organization"),
      key: "organization",
      render: (_, client) =>
        client.organization ? (
          <Link to={`/organizations/${client.organization.id}`}>{client.organization.name}</Link>
        ) : null,
    },
    {
      title: t("clients.kind"),
      dataIndex: "kind",
      render: (value: string, client) => (
        <Space size={4}>
          <Tag>{t(`clientKinds.${value}`)}</Tag>
          {client.public ? <Tag color="blue">{t("clients.publicTag")}</Tag> : null}
          {client.nodeName ? <code>{client.nodeName}</code> : null}
        </Space>
      ),
    },
    {
      title: t("clients.scopes"),
      dataIndex: "scopes",
      render: (scopes: string[]) => (
        <Space size={[4, 4]} wrap>
          {scopes.map((scope) => (
            <Tag key={scope}>
              <code>{scope}</code>
            </Tag>
          ))}
        </Space>
      ),
    },
    {
      title: t("status"),
      dataIndex: "disabledAt",
      render: (at: string | null) =>
        at ? (
          <Tag color="error">{t("disabledSince", { at: format.dateTime(at) })}</Tag>
        ) : (
          <Tag color="success">{t("active")}</Tag>
        ),
    },
    { title: t("createdAt"), dataIndex: "createdAt", render: (at: string) => format.dateTime(at) },
    {
      title: t("actions"),
      key: "actions",
      render: (_, client) => (
        <ClientActions client={client} onSecret={showSecret} onDone={reload} />
      ),
    },
  ];
  return (
    <>
      <ListHeader
        title={t("clients.title")}
        createLabel={t("clients.create")}
        canCreate={viewer.can.createClients}
        onCreate={() => setCreating(true)}
      />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap>
          <SearchFilter
            label={t("clients.search")}
            value={search}
            onSearch={(q) => update({ q })}
          />
          <ChoiceFilter
            label={t("clients.kind")}
            placeholder={t("clients.anyKind")}
            width={180}
            value={kind}
            onChange={(value) => update({ kind: value })}
            options={CLIENT_KINDS.map((value) => ({ value, label: t(`clientKinds.${value}`) }))}
          />
          <ChoiceFilter
            label={t("status")}
            placeholder={t("anyStatus")}
            width={160}
            value={status}
            onChange={(value) => update({ status: value })}
            options={STATUSES.map((value) => ({ value, label: t(value) }))}
          />
          {orgId ? (
            <Tag closable onClose={() => update({ org: null })}>
              {t("users.inOrganization", { name: org.data?.organization?.name ?? orgId })}
            </Tag>
          ) : null}
          <Typography.Text type="secondary">
            {data?.apiClients.totalCount != null
              ? t("total", { count: data.apiClients.totalCount })
              : null}
          </Typography.Text>
        </Space>
      </Card>
      <PagedTable<Client>
        testId="clients-table"
        rowKey="id"
        fetching={fetching}
        error={error}
        empty={t("clients.empty")}
        rows={rows}
        columns={columns}
        scroll
        pages={pages}
        pageInfo={data?.apiClients.pageInfo}
      />
      <CreateClientModal
        open={creating}
        organization={org.data?.organization?.name}
        onClose={(created) => {
          setCreating(false);
          if (!created) return;
          reload();
          if (created.secret) showSecret(created.clientId, created.secret);
        }}
      />
      <SecretModal shown={shown} onClose={() => setShown(null)} />
    </>
  );
}
