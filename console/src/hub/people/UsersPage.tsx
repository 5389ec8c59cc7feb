import { App, Button, Card, Checkbox, Dropdown, Form, Input, Space, Tag, Typography } from "antd";
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
import type { PeopleUserFieldsFragment as User } from "../../gql/hub/graphql";
import {
  PeopleCreateUser,
  PeopleDisableUser,
  PeopleEnableUser,
  PeopleOrganizationQuery,
  PeopleResetPassword,
  PeopleRevokeSessions,
  PeopleUpdateUser,
  PeopleUsersQuery,
} from "./documents";
import { OrganizationSelect } from "./OrganizationSelect";
import {
  disabledFilter,
  oneOf,
  ROLES,
  type RoleName,
  STATUSES,
  textParam,
  withParams,
} from "./people";
import { errorText, SecretModal, type ShownSecret } from "./SecretModal";

const PAGE = 50;

interface NewUserValues {
  email: string;
  name: string;
  organization: string;
  roles: RoleName[];
}

function CreateUserModal({
  open,
  organization,
  onClose,
}: {
  open: boolean;
  organization: string | undefined;
  onClose: (created?: { email: string; password: string | null }) => void;
}) {
  const { t } = useTranslation("people");
  const [form] = Form.useForm<NewUserValues>();
  const [state, create] = useMutation(PeopleCreateUser);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (open) form.setFieldsValue({ organization });
  }, [open, organization, form]);
  const submit = async () => {
    const values = await form.validateFields();
    const result = await create({
      input: {
        email: values.email.trim(),
        name: values.name.trim(),
        organization: values.organization,
        roles: values.roles ?? [],
      },
    });
    if (result.error) {
      setProblem(errorText(describeError(result.error)));
      return;
    }
    if (result.data) {
      form.resetFields();
      setProblem(null);
      const created = result.data.createUser;
      onClose({ email: created.user.email, password: created.oneTimePassword ?? null });
    }
  };
  return (
    <FormModal
      open={open}
      title={t("users.create")}
      okText={t("users.createOk")}
      cancelText={t("cancel")}
      onOk={submit}
      confirmLoading={state.fetching}
      onCancel={() => onClose()}
      problem={problem}
    >
      <Form form={form} layout="vertical" initialValues={{ roles: [] }}>
        <Form.Item
          name="email"
          label={t("users.email")}
          rules={[{ required: true, type: "email", max: 320, message: t("users.emailRule") }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t("users.name")}
          rules={[{ required: true, whitespace: true, max: 200, message: t("users.nameRule") }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="organization"
          label={t("users.organization")}
          rules={[{ required: true, message: t("users.organizationRule") }]}
        >
          <OrganizationSelect />
        </Form.Item>
        <Form.Item name="roles" label={t("users.roles")}>
          <Checkbox.Group
            options={ROLES.map((role) => ({ value: role, label: t(`roles.${role}`) }))}
          />
        </Form.Item>
        <Typography.Paragraph type="secondary">{t("users.passwordNote")}</Typography.Paragraph>
      </Form>
    </FormModal>
  );
}

function EditUserModal({ user, onClose }: { user: User | null; onClose: () => void }) {
  const { t } = useTranslation("people");
  const { message } = App.useApp();
  const [form] = Form.useForm<{ name: string; roles: RoleName[] }>();
  const [state, update] = useMutation(PeopleUpdateUser);
  useEffect(() => {
    if (user) form.setFieldsValue({ name: user.name, roles: user.roles as RoleName[] });
  }, [user, form]);
  const submit = async () => {
    if (!user) return;
    const values = await form.validateFields();
    const result = await update({
      id: user.id,
      input: { name: values.name.trim(), roles: values.roles },
    });
    if (result.error) {
      void message.error(errorText(describeError(result.error)));
      return;
    }
    void message.success(t("users.saved", { email: user.email }));
    onClose();
  };
  return (
    <FormModal
      open={user !== null}
      title={user ? t("users.editTitle", { email: user.email }) : ""}
      okText={t("save")}
      cancelText={t("cancel")}
      onOk={submit}
      confirmLoading={state.fetching}
      onCancel={onClose}
    >
      <Form form={form} layout="vertical">
        <Form.Item
          name="name"
          label={t("users.name")}
          rules={[{ required: true, whitespace: true, max: 200, message: t("users.nameRule") }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="roles" label={t("users.roles")}>
          <Checkbox.Group
            options={ROLES.map((role) => ({ value: role, label: t(`roles.${role}`) }))}
          />
        </Form.Item>
        <Typography.Paragraph type="secondary">{t("users.rolesNote")}</Typography.Paragraph>
      </Form>
    </FormModal>
  );
}

/** The actions on one person; each asks for confirmation and shows the API's answer. */
function UserActions({
  user,
  onEdit,
  onPassword,
  onDone,
}: {
  user: User;
  onEdit: (user: User) => void;
  onPassword: (email: string, password: string) => void;
  onDone: () => void;
}) {
  const { t } = useTranslation("people");
  const viewer = useViewer();
  const { message } = App.useApp();
  const [, reset] = useMutation(PeopleResetPassword);
  const [, disable] = useMutation(PeopleDisableUser);
  const [, enable] = useMutation(PeopleEnableUser);
  const [, revoke] = useMutation(PeopleRevokeSessions);
  const failed = (error: CombinedError) => void message.error(errorText(describeError(error)));
  const confirm = useConfirmedMutation(t("cancel"), failed);
  const items = [];
  if (viewer.can.manageUsers !== false) {
    items.push({ key: "edit", label: t("users.edit") });
    items.push({ key: "reset", label: t("users.resetPassword") });
    items.push(
      user.disabledAt
        ? { key: "enable", label: t("users.enable") }
        : { key: "disable", label: t("users.disable"), danger: true },
    );
  }
  if (viewer.can.revokeTokens !== false && !user.disabledAt) {
    items.push({ key: "revoke", label: t("users.revokeSessions") });
  }
  if (items.length === 0) return null;
  const done = (text: string) => {
    void message.success(text);
    onDone();
  };
  const onClick = ({ key }: { key: string }) => {
    if (key === "edit") onEdit(user);
    if (key === "reset")
      confirm({
        title: t("users.resetTitle", { email: user.email }),
        content: t("users.resetText"),
        okText: t("users.resetPassword"),
        run: () => reset({ id: user.id }),
        onSuccess: (result) => {
          const password = result.data?.resetUserPassword.oneTimePassword;
          if (password) onPassword(user.email, password);
          onDone();
        },
      });
    if (key === "disable")
      confirm({
        title: t("users.disableTitle", { email: user.email }),
        content: t("users.disableText"),
        okText: t("users.disable"),
        run: () => disable({ id: user.id }),
        onSuccess: () => done(t("users.disabled", { email: user.email })),
      });
    if (key === "enable")
      confirm({
        title: t("users.enableTitle", { email: user.email }),
        content: t("users.enableText"),
        okText: t("users.enable"),
        run: () => enable({ id: user.id }),
        onSuccess: () => done(t("users.enabled", { email: user.email })),
      });
    if (key === "revoke")
      confirm({
        title: t("users.revokeTitle", { email: user.email }),
        content: t("users.revokeText"),
        okText: t("users.revokeSessions"),
        run: () => revoke({ id: user.id }),
        onSuccess: (result) => {
          const ended = result.data?.revokeUserSessions;
          void message.success(
            t("users.revoked", {
              sessions: ended?.sessions ?? 0,
              tokens: ended?.refreshTokens ?? 0,
            }),
          );
        },
      });
  };
  return (
    <Dropdown menu={{ items, onClick }} trigger={["click"]}>
      <Button size="small" aria-label={t("users.actionsFor", { email: user.email })}>
        {t("actions")}
      </Button>
    </Dropdown>
  );
}

export default function UsersPage() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const search = textParam(params, "q");
  const role = oneOf(params, "role", ROLES);
  const status = oneOf(params, "status", STATUSES);
  const orgId = textParam(params, "org", 36);
  const pages = useCursorPages();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [shown, setShown] = useState<ShownSecret | null>(null);
  const variables = useMemo(
    () => ({
      first: PAGE,
      after: pages.after,
      filter: { search, role, organizationId: orgId, disabled: disabledFilter(status) },
    }),
    [pages.after, search, role, orgId, status],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: PeopleUsersQuery, variables });
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
  const showPassword = (email: string, password: string) =>
    setShown({
      title: t("users.passwordTitle"),
      subjectLabel: t("users.email"),
      subject: email,
      secretLabel: t("users.oneTimePassword"),
      secret: password,
    });
  const rows = data?.users.edges.map((edge) => edge.node) ?? [];
  const columns: ColumnsType<User> = [
    { title: t("users.email"), dataIndex: "email" },
    { title: t("users.name"), dataIndex: "name" },
    {
      title: t("users.organization"),
      key: "organization",
      render: (_, user) =>
        user.organization ? (
          <Link to={`/organizations/${user.organization.id}`}>{user.organization.name}</Link>
        ) : null,
    },
    {
      title: t("users.roles"),
      dataIndex: "roles",
      render: (roles: string[]) => (
        <Space size={[4, 4]} wrap>
          {roles.map((name) => (
            <Tag key={name}>{t(`roles.${name}`)}</Tag>
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
      render: (_, user) => (
        <UserActions user={user} onEdit={setEditing} onPassword={showPassword} onDone={reload} />
      ),
    },
  ];
  return (
    <>
      <ListHeader
        title={t("users.title")}
        createLabel={t("users.create")}
        canCreate={viewer.can.manageUsers}
        onCreate={() => setCreating(true)}
      />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap>
          <SearchFilter label={t("users.search")} value={search} onSearch={(q) => update({ q })} />
          <ChoiceFilter
            label={t("users.role")}
            placeholder={t("users.anyRole")}
            width={180}
            value={role}
            onChange={(value) => update({ role: value })}
            options={ROLES.map((value) => ({ value, label: t(`roles.${value}`) }))}
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
            {data?.users.totalCount != null ? t("total", { count: data.users.totalCount }) : null}
          </Typography.Text>
        </Space>
      </Card>
      <PagedTable<User>
        testId="users-table"
        rowKey="id"
        fetching={fetching}
        error={error}
        empty={t("users.empty")}
        rows={rows}
        columns={columns}
        scroll
        pages={pages}
        pageInfo={data?.users.pageInfo}
      />
      <CreateUserModal
        open={creating}
        organization={org.data?.organization?.name}
        onClose={(created) => {
          setCreating(false);
          if (!created) return;
          reload();
          if (created.password) showPassword(created.email, created.password);
        }}
      />
      <EditUserModal
        user={editing}
        onClose={() => {
          setEditing(null);
          reload();
        }}
      />
      <SecretModal shown={shown} onClose={() => setShown(null)} />
    </>
  );
}
