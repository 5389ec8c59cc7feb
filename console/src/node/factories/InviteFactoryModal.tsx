import { Form, Input, Modal } from "antd";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { type InviteValues, inviteInput, SLUG_PATTERN } from "./invite";

const InviteFactory = graphql(`
  mutation InviteFactory($input: InviteFactoryInput!) {
    inviteFactory(input: $input) {
      id
      slug
      name
      status
    }
  }
`);

/** The operator invites a factory by slug and name; its people fill in the rest. */
export function InviteFactoryModal({
  open,
  onClose,
  onInvited,
}: {
  open: boolean;
  onClose: () => void;
  onInvited: (slug: string) => void;
}) {
  const { t } = useTranslation("factories");
  const [form] = Form.useForm<InviteValues>();
  const [state, invite] = useMutation(InviteFactory);

  const submit = async () => {
    let values: InviteValues;
    try {
      values = await form.validateFields();
    } catch {
      return; // the form shows what is missing
    }
    const result = await invite(
      { input: inviteInput(values) },
      // The lists that hold factories are asked again.
      { additionalTypenames: ["Factory"] },
    );
    const slug = result.data?.inviteFactory.slug;
    if (slug) {
      form.resetFields();
      onInvited(slug);
    }
  };

  return (
    <Modal
      open={open}
      title={t("invite.title")}
      okText={t("invite.submit")}
      cancelText={t("actions.cancel")}
      confirmLoading={state.fetching}
      onOk={submit}
      onCancel={onClose}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" name="invite-factory" requiredMark>
        <Form.Item
          name="slug"
          label={t("invite.slug")}
          extra={t("invite.slugHelp")}
          rules={[
            { required: true, message: t("invite.slugRequired") },
            { pattern: SLUG_PATTERN, message: t("invite.slugInvalid") },
          ]}
        >
          <Input autoComplete="off" maxLength={63} />
        </Form.Item>
        <Form.Item
          name="name"
          label={t("invite.name")}
          rules={[{ required: true, whitespace: true, message: t("invite.nameRequired") }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="organizationId"
          label={t("invite.organizationId")}
          extra={t("invite.organizationIdHelp")}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="contactName" label={t("profile.contactName")}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="contactPhone" label={t("profile.phone")}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="contactEmail"
          label={t("profile.email")}
          rules={[{ type: "email", message: t("invite.emailInvalid") }]}
        >
          <Input autoComplete="off" type="email" />
        </Form.Item>
      </Form>
      {state.error ? <ErrorNotice error={state.error} title={t("invite.failed")} /> : null}
    </Modal>
  );
}
