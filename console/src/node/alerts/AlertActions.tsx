import { App, Button, Form, Input, Modal, Radio, Select, Space } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { useViewer } from "../../auth/useViewer";
import { describeError } from "../../components/QueryState";
import { graphql } from "../../gql/node";

export const AcknowledgeAlert = graphql(`
  mutation AcknowledgeAlert($id: UUID!, $note: String) {
    acknowledgeAlert(id: $id, note: $note) {
      id
      status
      acknowledgedAt
      acknowledgedBy
      acknowledgeNote
    }
  }
`);

export const CloseAlert = graphql(`
  mutation CloseAlert($id: UUID!, $note: String) {
    closeAlert(id: $id, note: $note) {
      id
      status
      closedAt
      closedBy
      closeReason
    }
  }
`);

export const AddAlertSilence = graphql(`
  mutation AddAlertSilence($input: AlertSilenceInput!) {
    addAlertSilence(input: $input) {
      id
      ruleId
      startsAt
      endsAt
      dailyFrom
      dailyTo
      comment
    }
  }
`);

type Action = "acknowledge" | "close" | "silence";

export interface ActionTarget {
  id: string;
  ruleId: string;
  status: string;
  message: string;
}

/** Durations offered for a one-off silence, in hours. */
const DURATIONS = [1, 4, 8, 24, 72];

interface SilenceValues {
  mode: "for" | "until" | "daily";
  hours?: number;
  until?: string;
  dailyFrom?: string;
  dailyTo?: string;
  comment?: string;
}

/** The silence input the API takes for what the form asks; `now` for tests. */
export function silenceInput(ruleId: string, values: SilenceValues, now = Date.now()) {
  const comment = values.comment?.trim() || null;
  if (values.mode === "daily") {
    return {
      ruleId,
      dailyFrom: values.dailyFrom ?? null,
      dailyTo: values.dailyTo ?? null,
      comment,
    };
  }
  const endsAt =
    values.mode === "for"
      ? new Date(now + (values.hours ?? 1) * 3600_000).toISOString()
      : values.until
        ? new Date(values.until).toISOString()
        : null;
  return { ruleId, startsAt: new Date(now).toISOString(), endsAt, comment };
}

/** Acknowledge, close and silence buttons for one alert, each asking for its note first. */
export function AlertActions({
  alert,
  size = "small",
  onDone,
}: {
  alert: ActionTarget;
  size?: "small" | "middle";
  onDone?: () => void;
}) {
  const { t } = useTranslation("alerts");
  const { can } = useViewer();
  const { message } = App.useApp();
  const [open, setOpen] = useState<Action | null>(null);
  const [form] = Form.useForm();
  const [ack, acknowledge] = useMutation(AcknowledgeAlert);
  const [closing, close] = useMutation(CloseAlert);
  const [silencing, silence] = useMutation(AddAlertSilence);
  const closed = alert.status === "CLOSED";

  async function submit() {
    const values = await form.validateFields();
    let result: { error?: import("urql").CombinedError | undefined };
    if (open === "acknowledge") {
      result = await acknowledge({ id: alert.id, note: values.note?.trim() || null });
    } else if (open === "close") {
      result = await close({ id: alert.id, note: values.note?.trim() || null });
    } else {
      result = await silence({ input: silenceInput(alert.ruleId, values as SilenceValues) });
    }
    if (result.error) {
      const { message: text, code } = describeError(result.error);
      form.setFields([
        {
          name: open === "silence" ? "comment" : "note",
          errors: [`${text}${code ? ` (${code})` : ""}`],
        },
      ]);
      return;
    }
    message.success(t(`actions.${open}.done`));
    setOpen(null);
    form.resetFields();
    onDone?.();
  }

  const mode = Form.useWatch("mode", form);
  return (
    <>
      <Space size="small" wrap onClick={(event) => event.stopPropagation()}>
        {can.respondToAlerts !== false && alert.status === "OPEN" ? (
          <Button size={size} type="primary" onClick={() => setOpen("acknowledge")}>
            {t("actions.acknowledge.button")}
          </Button>
        ) : null}
        {can.respondToAlerts !== false && !closed ? (
          <Button size={size} onClick={() => setOpen("close")}>
            {t("actions.close.button")}
          </Button>
        ) : null}
        {can.manageAlerts !== false && !closed ? (
          <Button size={size} onClick={() => setOpen("silence")}>
            {t("actions.silence.button")}
          </Button>
        ) : null}
      </Space>
      <Modal
        open={open !== null}
        title={open ? t(`actions.${open}.title`) : ""}
        okText={open ? t(`actions.${open}.confirm`) : ""}
        cancelText={t("actions.cancel")}
        confirmLoading={ack.fetching || closing.fetching || silencing.fetching}
        onOk={submit}
        onCancel={() => {
          setOpen(null);
          form.resetFields();
        }}
        destroyOnHidden
      >
        <p>{alert.message}</p>
        <Form
          form={form}
          layout="vertical"
          initialValues={{ mode: "for", hours: 4 }}
          preserve={false}
        >
          {open === "silence" ? (
            <>
              <p>{t("actions.silence.explain")}</p>
              <Form.Item name="mode" label={t("actions.silence.mode")}>
                <Radio.Group
                  options={[
                    { value: "for", label: t("actions.silence.modes.for") },
                    { value: "until", label: t("actions.silence.modes.until") },
                    { value: "daily", label: t("actions.silence.modes.daily") },
                  ]}
                />
              </Form.Item>
              {mode === "for" || mode === undefined ? (
                <Form.Item name="hours" label={t("actions.silence.hours")}>
                  <Select
                    options={DURATIONS.map((hours) => ({
                      value: hours,
                      label: t("actions.silence.hoursValue", { count: hours }),
                    }))}
                  />
                </Form.Item>
              ) : null}
              {mode === "until" ? (
                <Form.Item
                  name="until"
                  label={t("actions.silence.until")}
                  rules={[{ required: true, message: t("actions.silence.untilRequired") }]}
                >
                  <Input type="datetime-local" />
                </Form.Item>
              ) : null}
              {mode === "daily" ? (
                <Space>
                  <Form.Item
                    name="dailyFrom"
                    label={t("actions.silence.dailyFrom")}
                    rules={[{ required: true, message: t("actions.silence.timeRequired") }]}
                  >
                    <Input type="time" />
                  </Form.Item>
                  <Form.Item
                    name="dailyTo"
                    label={t("actions.silence.dailyTo")}
                    rules={[{ required: true, message: t("actions.silence.timeRequired") }]}
                  >
                    <Input type="time" />
                  </Form.Item>
                </Space>
              ) : null}
              <Form.Item name="comment" label={t("actions.silence.comment")}>
                <Input.TextArea rows={2} maxLength={500} />
              </Form.Item>
            </>
          ) : (
            <Form.Item name="note" label={t("actions.note")}>
              <Input.TextArea rows={3} maxLength={500} />
            </Form.Item>
          )}
        </Form>
      </Modal>
    </>
  );
}
