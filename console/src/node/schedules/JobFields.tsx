import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import { Button, DatePicker, Form, Input, InputNumber, Select, Space } from "antd";
import { useTranslation } from "react-i18next";

export interface MachineOption {
  value: string;
  label: string;
}

/**
 * The fields of one job: id, product family, priority, due date and its operations (each on
 * any of some machines, for some minutes). `prefix` places them in a form list item.
 */
export function JobFields({
  prefix = [],
  machines,
  idPrefix,
}: {
  prefix?: (string | number)[];
  machines: MachineOption[];
  /** Makes the controls' ids unique when several jobs share a form. */
  idPrefix: string;
}) {
  const { t } = useTranslation("schedules");
  return (
    <>
      <Space wrap align="start">
        <Form.Item
          label={t("form.jobId")}
          name={[...prefix, "id"]}
          htmlFor={`${idPrefix}-id`}
          rules={[{ required: true, message: t("form.errors.jobId") }]}
        >
          <Input id={`${idPrefix}-id`} style={{ width: 160 }} />
        </Form.Item>
        <Form.Item
          label={t("form.family")}
          name={[...prefix, "family"]}
          htmlFor={`${idPrefix}-family`}
        >
          <Input id={`${idPrefix}-family`} style={{ width: 160 }} />
        </Form.Item>
        <Form.Item
          label={t("form.weight")}
          name={[...prefix, "weight"]}
          htmlFor={`${idPrefix}-weight`}
          tooltip={t("form.weightHelp")}
        >
          <InputNumber
            id={`${idPrefix}-weight`}
            min={0.1}
            max={100}
            step={1}
            style={{ width: 120 }}
          />
        </Form.Item>
        <Form.Item label={t("form.due")} name={[...prefix, "due"]} htmlFor={`${idPrefix}-due`}>
          <DatePicker
            id={`${idPrefix}-due`}
            showTime={{ format: "HH:mm" }}
            needConfirm={false}
            format="YYYY-MM-DD HH:mm"
            style={{ width: 200 }}
          />
        </Form.Item>
      </Space>
      <Form.List name={[...prefix, "operations"]}>
        {(fields, { add, remove }) => (
          <>
            {fields.map((field, index) => (
              <Space key={field.key} wrap align="start" data-testid="operation-row">
                <Form.Item
                  label={t("form.operationMachines", { n: index + 1 })}
                  name={[field.name, "machines"]}
                  htmlFor={`${idPrefix}-op${index}-machines`}
                  rules={[{ required: true, message: t("form.errors.machines", { n: index + 1 }) }]}
                >
                  <Select
                    id={`${idPrefix}-op${index}-machines`}
                    mode="multiple"
                    options={machines}
                    style={{ minWidth: 240 }}
                    optionFilterProp="label"
                  />
                </Form.Item>
                <Form.Item
                  label={t("form.operationMinutes", { n: index + 1 })}
                  name={[field.name, "minutes"]}
                  htmlFor={`${idPrefix}-op${index}-minutes`}
                  rules={[{ required: true, message: t("form.errors.minutes", { n: index + 1 }) }]}
                >
                  <InputNumber
                    id={`${idPrefix}-op${index}-minutes`}
                    min={1}
                    max={100000}
                    precision={0}
                    style={{ width: 120 }}
                  />
                </Form.Item>
                {fields.length > 1 ? (
                  <Form.Item label=" " colon={false}>
                    <Button
                      icon={<DeleteOutlined />}
                      onClick={() => remove(field.name)}
                      aria-label={t("form.removeOperation", { n: index + 1 })}
                    />
                  </Form.Item>
                ) : null}
              </Space>
            ))}
            <Form.Item>
              <Button icon={<PlusOutlined />} onClick={() => add({ machines: [], minutes: 60 })}>
                {t("form.addOperation")}
              </Button>
            </Form.Item>
          </>
        )}
      </Form.List>
    </>
  );
}
