import { App, Checkbox, Col, Form, Input, InputNumber, Modal, Row, Typography } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { addDays, type CapacityFormValues, capacityDays, isIsoDay } from "./capacity";
import { EQUIPMENT_TYPE_PATTERN } from "./profileForm";

const SetFactoryCapacity = graphql(`
  mutation SetFactoryCapacity($factoryId: UUID!, $days: [CapacityDayInput!]!) {
    setFactoryCapacity(factoryId: $factoryId, days: $days)
  }
`);

/** Sets one process's capacity over a range of days (inserting or replacing those days). */
export function CapacityEditor({
  factoryId,
  start,
  processes,
  open,
  onClose,
  onSaved,
}: {
  factoryId: string;
  start: string;
  processes: string[];
  open: boolean;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const { message } = App.useApp();
  const [form] = Form.useForm<CapacityFormValues>();
  const [state, save] = useMutation(SetFactoryCapacity);
  const weekdays = useMemo(() => {
    const name = new Intl.DateTimeFormat(format.locale, { weekday: "short", timeZone: "UTC" });
    // 2026-12-07 is a Monday: the week from Monday, each with its getUTCDay() number.
    return [1, 2, 3, 4, 5, 6, 0].map((value) => ({
      value,
      label: name.format(new Date(`${addDays("2026-12-06", value === 0 ? 7 : value)}T00:00:00Z`)),
    }));
  }, [format.locale]);

  const submit = async () => {
    let values: CapacityFormValues;
    try {
      values = await form.validateFields();
    } catch {
      return; // the form shows what is missing
    }
    const days = capacityDays(values);
    const result = await save({ factoryId, days });
    if (result.data) {
      message.success(t("capacityEdit.saved", { count: result.data.setFactoryCapacity }));
      onSaved();
    }
  };

  return (
    <Modal
      open={open}
      title={t("capacityEdit.title")}
      okText={t("edit.save")}
      cancelText={t("actions.cancel")}
      confirmLoading={state.fetching}
      onOk={submit}
      onCancel={onClose}
      destroyOnHidden
      width={640}
    >
      <Form<CapacityFormValues>
        form={form}
        layout="vertical"
        name="factory-capacity"
        initialValues={{
          process: processes[0] ?? "",
          from: start,
          days: 7,
          weekdays: [1, 2, 3, 4, 5],
          downtimeHours: 0,
        }}
      >
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item
              name="process"
              label={t("capacityEdit.process")}
              rules={[
                { required: true, message: t("capacityEdit.processRequired") },
                { pattern: EQUIPMENT_TYPE_PATTERN, message: t("capacityEdit.processInvalid") },
              ]}
            >
              <Input placeholder="injection-moulding" />
            </Form.Item>
          </Col>
          <Col span={7}>
            <Form.Item
              name="from"
              label={t("capacityEdit.from")}
              rules={[
                {
                  validator: (_, value?: string) =>
                    isIsoDay(value?.trim())
                      ? Promise.resolve()
                      : Promise.reject(new Error(t("edit.dayInvalid"))),
                },
              ]}
            >
              <Input placeholder="2027-01-04" />
            </Form.Item>
          </Col>
          <Col span={5}>
            <Form.Item
              name="days"
              label={t("capacityEdit.days")}
              rules={[{ required: true, message: t("capacityEdit.daysRequired") }]}
            >
              <InputNumber min={1} max={366} precision={0} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="weekdays" label={t("capacityEdit.weekdays")}>
          <Checkbox.Group options={weekdays} />
        </Form.Item>
        <Row gutter={12}>
          <Col span={6}>
            <Form.Item
              name="availableHours"
              label={t("capacity.measures.availableHours")}
              dependencies={["availableUnits"]}
              rules={[
                ({ getFieldValue }) => ({
                  validator: (_, value?: number | null) =>
                    typeof value === "number" || typeof getFieldValue("availableUnits") === "number"
                      ? Promise.resolve()
                      : Promise.reject(new Error(t("capacityEdit.hoursOrUnits"))),
                }),
              ]}
            >
              <InputNumber min={0} max={24} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
          <Col span={6}>
            <Form.Item name="availableUnits" label={t("capacity.measures.availableUnits")}>
              <InputNumber min={0} precision={0} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
          <Col span={6}>
            <Form.Item name="downtimeHours" label={t("capacity.measures.downtimeHours")}>
              <InputNumber min={0} max={24} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
          <Col span={6}>
            <Form.Item name="hourlyRate" label={t("capacity.measures.hourlyRate")}>
              <InputNumber min={0} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="note" label={t("capacityEdit.note")}>
          <Input maxLength={200} />
        </Form.Item>
      </Form>
      <Typography.Paragraph type="secondary">{t("capacityEdit.replaces")}</Typography.Paragraph>
      {state.error ? <ErrorNotice error={state.error} title={t("capacityEdit.failed")} /> : null}
    </Modal>
  );
}
