import {
  Alert,
  App,
  Button,
  Card,
  Form,
  Input,
  Modal,
  Popconfirm,
  Select,
  Space,
  Switch,
  Table,
  Tag,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { describeError, QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { ContactPointKind, ContactPointsQuery } from "../../gql/node/graphql";
import { InboxFactories } from "./AlertsInboxPage";
import { AlertsNav } from "./AlertsNav";
import {
  type ContactDraft,
  KINDS,
  toCreateInput,
  toUpdateInput,
  validateContact,
} from "./contactPoints";

const ContactPoints = graphql(`
  query ContactPoints($factoryId: UUID) {
    contactPoints(factoryId: $factoryId, first: 100) {
      totalCount
      edges {
        node {
          id
          factoryId
          name
          kind
          target
          hasSecret
          isDefault
          createdBy
          createdAt
          updatedAt
        }
      }
    }
  }
`);

const CreateContactPoint = graphql(`
  mutation CreateContactPoint($input: NewContactPointInput!) {
    createContactPoint(input: $input) {
      secret
      contactPoint {
        id
        name
      }
    }
  }
`);

const UpdateContactPoint = graphql(`
  mutation UpdateContactPoint($id: UUID!, $input: ContactPointUpdateInput!) {
    updateContactPoint(id: $id, input: $input) {
      secret
      contactPoint {
        id
        name
        target
        isDefault
        hasSecret
        updatedAt
      }
    }
  }
`);

const DeleteContactPoint = graphql(`
  mutation DeleteContactPoint($id: UUID!) {
    deleteContactPoint(id: $id)
  }
`);

const TestContactPoint = graphql(`
  mutation TestContactPoint($id: UUID!) {
    testContactPoint(id: $id) {
      ok
      statusCode
      error
      durationMs
    }
  }
`);

type Point = ContactPointsQuery["contactPoints"]["edges"][number]["node"];

const NODE_WIDE = "node";

export default function ContactPointsPage() {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { can } = useViewer();
  const { message, modal } = App.useApp();
  const [params, setParams] = useSearchParams();
  const scope = params.get("factory") ?? NODE_WIDE;
  const factoryId = scope === NODE_WIDE ? null : scope;
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ContactPoints,
    variables: { factoryId },
  });
  const [factories] = useQuery({ query: InboxFactories });
  const [editing, setEditing] = useState<{ point: Point | null } | null>(null);
  const [, remove] = useMutation(DeleteContactPoint);
  const [testing, test] = useMutation(TestContactPoint);
  const [secret, setSecret] = useState<string | null>(null);
  const manage = can.manageContactPoints !== false;
  const reload = () => refetch({ requestPolicy: "network-only" });

  function refused(error: import("urql").CombinedError) {
    const { message: text, code } = describeError(error);
    message.error(`${text}${code ? ` (${code})` : ""}`);
  }

  const columns: ColumnsType<Point> = [
    {
      title: t("contacts.name"),
      dataIndex: "name",
      render: (name: string, point) => (
        <Space size={4}>
          <strong>{name}</strong>
          {point.isDefault ? <Tag color="blue">{t("contacts.default")}</Tag> : null}
        </Space>
      ),
    },
    {
      title: t("contacts.kind"),
      dataIndex: "kind",
      render: (kind: string) => t(`contactKind.${kind}`),
    },
    {
      title: t("contacts.target"),
      dataIndex: "target",
      render: (target: string, point) => (
        <span>
          <code>{target}</code> {point.hasSecret ? <Tag>{t("contacts.signed")}</Tag> : null}
        </span>
      ),
    },
    { title: t("contacts.createdBy"), dataIndex: "createdBy" },
    {
      title: t("contacts.updatedAt"),
      dataIndex: "updatedAt",
      render: (at: string) => format.dateTime(at),
    },
    {
      title: t("fields.actions"),
      key: "actions",
      render: (_, point) =>
        manage ? (
          <Space size="small" wrap>
            <Button size="small" onClick={() => setEditing({ point })}>
              {t("contacts.edit")}
            </Button>
            <Button
              size="small"
              loading={testing.fetching && testing.operation?.variables.id === point.id}
              onClick={async () => {
                const result = await test({ id: point.id });
                if (result.error) return refused(result.error);
                const outcome = result.data?.testContactPoint;
                if (!outcome) return;
                modal[outcome.ok ? "success" : "error"]({
                  title: outcome.ok ? t("contacts.testOk") : t("contacts.testFailed"),
                  content: t("contacts.testOutcome", {
                    status: outcome.statusCode ?? "—",
                    error: outcome.error ?? "—",
                    ms: format.number(outcome.durationMs),
                  }),
                });
              }}
            >
              {t("contacts.test")}
            </Button>
            <Popconfirm
              title={t("contacts.deleteConfirm", { name: point.name })}
              okText={t("contacts.delete")}
              cancelText={t("actions.cancel")}
              onConfirm={async () => {
                const result = await remove({ id: point.id });
                if (result.error) return refused(result.error);
                message.success(t("contacts.deleted"));
                reload();
              }}
            >
              <Button size="small" danger>
                {t("contacts.delete")}
              </Button>
            </Popconfirm>
          </Space>
        ) : null,
    },
  ];

  const points = data?.contactPoints.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <AlertsNav title={t("contacts.title")} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap align="end">
          <Form layout="vertical">
            <Form.Item
              label={t("rules.scope")}
              htmlFor="contacts-scope"
              style={{ marginBottom: 0 }}
            >
              <Select
                id="contacts-scope"
                style={{ minWidth: 260 }}
                value={scope}
                onChange={(value) => setParams(value === NODE_WIDE ? {} : { factory: value })}
                options={[
                  { value: NODE_WIDE, label: t("rules.nodeWide") },
                  ...(factories.data?.factories.edges ?? []).map(({ node }) => ({
                    value: node.id,
                    label: node.name,
                  })),
                ]}
              />
            </Form.Item>
          </Form>
          {manage ? (
            <Button type="primary" onClick={() => setEditing({ point: null })}>
              {t("contacts.new")}
            </Button>
          ) : null}
        </Space>
      </Card>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={points.length > 0}
        empty={t("contacts.empty")}
      >
        <Table<Point>
          rowKey="id"
          columns={columns}
          dataSource={points}
          pagination={false}
          scroll={{ x: true }}
          data-testid="contacts-table"
        />
      </QueryState>
      {editing ? (
        <ContactEditor
          point={editing.point}
          factoryId={factoryId}
          onClose={() => setEditing(null)}
          onSaved={(generated) => {
            setEditing(null);
            message.success(t("contacts.saved"));
            if (generated) setSecret(generated);
            reload();
          }}
        />
      ) : null}
      <Modal
        open={secret !== null}
        title={t("contacts.secretTitle")}
        onOk={() => setSecret(null)}
        onCancel={() => setSecret(null)}
        okText={t("contacts.secretDone")}
        cancelButtonProps={{ style: { display: "none" } }}
      >
        <Typography.Paragraph>{t("contacts.secretOnce")}</Typography.Paragraph>
        <Typography.Paragraph copyable={{ text: secret ?? "" }}>
          <code>{secret}</code>
        </Typography.Paragraph>
      </Modal>
    </>
  );
}

function ContactEditor({
  point,
  factoryId,
  onClose,
  onSaved,
}: {
  point: Point | null;
  factoryId: string | null;
  onClose: () => void;
  onSaved: (secret: string | null) => void;
}) {
  const { t } = useTranslation("alerts");
  const [form] = Form.useForm<ContactDraft>();
  const kind = (Form.useWatch("kind", form) ?? point?.kind ?? "WEBHOOK") as ContactPointKind;
  const [created, create] = useMutation(CreateContactPoint);
  const [updated, update] = useMutation(UpdateContactPoint);
  const [refusal, setRefusal] = useState<string | null>(null);

  async function submit() {
    const draft = form.getFieldsValue(true) as ContactDraft;
    const problems = validateContact(draft, point === null);
    form.setFields(
      ["name", "url", "recipients", "secret"].map((name) => ({
        name: name as keyof ContactDraft,
        errors: [],
      })),
    );
    if (problems.length) {
      form.setFields(
        problems.map((p) => ({
          name: p.field,
          errors: [t(`contactValidation.${p.key}`, p.values ?? {})],
        })),
      );
      return;
    }
    setRefusal(null);
    const result = point
      ? await update({ id: point.id, input: toUpdateInput(draft) })
      : await create({ input: toCreateInput(draft, factoryId) });
    if (result.error) {
      const { message, code } = describeError(result.error);
      setRefusal(`${message}${code ? ` (${code})` : ""}`);
      return;
    }
    const saved =
      result.data &&
      ("createContactPoint" in result.data
        ? result.data.createContactPoint
        : result.data.updateContactPoint);
    onSaved(saved?.secret ?? null);
  }

  return (
    <Modal
      open
      title={point ? t("contacts.editTitle", { name: point.name }) : t("contacts.new")}
      okText={t("contacts.save")}
      cancelText={t("actions.cancel")}
      confirmLoading={created.fetching || updated.fetching}
      onOk={submit}
      onCancel={onClose}
    >
      {refusal ? (
        <Alert
          type="error"
          showIcon
          title={t("rules.refused")}
          description={refusal}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Form
        form={form}
        layout="vertical"
        initialValues={{
          kind: point?.kind ?? "WEBHOOK",
          name: point?.name ?? "",
          isDefault: point?.isDefault ?? false,
          recipients: [],
        }}
      >
        <Form.Item name="kind" label={t("contacts.kind")} htmlFor="contact-kind">
          <Select
            id="contact-kind"
            disabled={point !== null}
            options={KINDS.map((value) => ({ value, label: t(`contactKind.${value}`) }))}
          />
        </Form.Item>
        <Form.Item name="name" label={t("contacts.name")} htmlFor="contact-name">
          <Input id="contact-name" maxLength={200} />
        </Form.Item>
        {kind === "EMAIL" ? (
          <Form.Item
            name="recipients"
            label={t("contacts.recipients")}
            htmlFor="contact-recipients"
            extra={point ? t("contacts.keepHint") : t("contacts.recipientsHint")}
          >
            <Select
              id="contact-recipients"
              mode="tags"
              tokenSeparators={[",", " "]}
              open={false}
              suffixIcon={null}
            />
          </Form.Item>
        ) : (
          <Form.Item
            name="url"
            label={t("contacts.url")}
            htmlFor="contact-url"
            extra={point ? t("contacts.keepHint") : t(`contacts.urlHint.${kind}`)}
          >
            <Input id="contact-url" placeholder="https://" />
          </Form.Item>
        )}
        {kind === "DINGTALK" || kind === "FEISHU" ? (
          <Form.Item
            name="secret"
            label={t("contacts.secret")}
            htmlFor="contact-secret"
            extra={point?.hasSecret ? t("contacts.keepHint") : undefined}
          >
            <Input.Password id="contact-secret" autoComplete="off" />
          </Form.Item>
        ) : null}
        {kind === "WEBHOOK" && point ? (
          <Form.Item
            name="rotateSecret"
            label={t("contacts.rotateSecret")}
            valuePropName="checked"
            htmlFor="contact-rotate"
          >
            <Switch id="contact-rotate" />
          </Form.Item>
        ) : null}
        <Form.Item
          name="isDefault"
          label={t("contacts.isDefault")}
          valuePropName="checked"
          htmlFor="contact-default"
          extra={t("contacts.isDefaultHint")}
        >
          <Switch id="contact-default" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
