import { App, Button, Form, Input, Modal, Space, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { useViewer } from "../../auth/useViewer";
import { ErrorNotice } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { FactoryStatus, FactoryTransition } from "../../gql/node/graphql";
import { availableTransitions, MOVES } from "./status";

const ChangeFactoryStatus = graphql(`
  mutation ChangeFactoryStatus(
    $factoryId: UUID!
    $transition: FactoryTransition!
    $reason: String
  ) {
    changeFactoryStatus(factoryId: $factoryId, transition: $transition, reason: $reason) {
      id
      status
      statusReason
      statusChangedAt
      updatedAt
    }
  }
`);

/**
 * The onboarding moves the factory's status admits and the viewer may ask for, each behind a
 * confirmation (with a required reason to reject or suspend). The API still decides: a refusal
 * is shown in the dialog with its code.
 */
export function FactoryActions({
  factory,
  onChanged,
}: {
  factory: { id: string; name: string; status: FactoryStatus };
  onChanged: () => void;
}) {
  const { t } = useTranslation("factories");
  const { message } = App.useApp();
  const viewer = useViewer();
  const [open, setOpen] = useState<FactoryTransition | null>(null);
  const [form] = Form.useForm<{ reason?: string }>();
  const [state, change] = useMutation(ChangeFactoryStatus);
  const transitions = availableTransitions(factory.status, viewer.can);

  if (transitions.length === 0) return null;
  const move = open ? MOVES[open] : null;

  const confirm = async () => {
    if (!open) return;
    let reason: string | undefined;
    try {
      ({ reason } = await form.validateFields());
    } catch {
      return; // the form shows what is missing
    }
    const result = await change({
      factoryId: factory.id,
      transition: open,
      reason: reason?.trim() || null,
    });
    if (result.data) {
      message.success(
        t("actions.done", {
          name: factory.name,
          status: t(`status.${result.data.changeFactoryStatus.status}`),
        }),
      );
      setOpen(null);
      form.resetFields();
      onChanged();
    }
  };

  return (
    <>
      <Space wrap>
        {transitions.map((transition) => (
          <Button
            key={transition}
            type={MOVES[transition].danger ? "default" : "primary"}
            danger={MOVES[transition].danger}
            onClick={() => {
              form.resetFields();
              setOpen(transition);
            }}
          >
            {t(`actions.${transition}.button`)}
          </Button>
        ))}
      </Space>
      <Modal
        open={open !== null}
        title={open ? t(`actions.${open}.title`, { name: factory.name }) : ""}
        okText={open ? t(`actions.${open}.button`) : ""}
        okButtonProps={{ danger: move?.danger }}
        cancelText={t("actions.cancel")}
        confirmLoading={state.fetching}
        onOk={confirm}
        onCancel={() => setOpen(null)}
        destroyOnHidden
      >
        {open ? (
          <>
            <Typography.Paragraph>
              {t(`actions.${open}.confirm`, { name: factory.name })}
            </Typography.Paragraph>
            <Form form={form} layout="vertical" name="factory-transition">
              {move?.reason ? (
                <Form.Item
                  name="reason"
                  label={t("actions.reason")}
                  rules={[
                    { required: true, whitespace: true, message: t("actions.reasonRequired") },
                  ]}
                >
                  <Input.TextArea rows={3} maxLength={500} showCount />
                </Form.Item>
              ) : null}
            </Form>
            {state.error ? <ErrorNotice error={state.error} title={t("actions.failed")} /> : null}
          </>
        ) : null}
      </Modal>
    </>
  );
}
