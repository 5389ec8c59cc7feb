import { MinusCircleOutlined, PlusOutlined } from "@ant-design/icons";
import { Button, Form, Input, InputNumber, Modal, Select, Space } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import type { IssuedCredentials } from "./CredentialsModal";
import { ProvisionDeviceMutation } from "./queries";
import { DEVICE_KEY_PATTERN, DEVICE_TYPE_PATTERN, METRIC_PATTERN } from "./status";
import type { FactoryChoice } from "./useFactoryNames";

interface MetricValues {
  name: string;
  unit: string;
  minValue?: number | null;
  maxValue?: number | null;
}

interface FormValues {
  factoryId: string;
  key: string;
  name: string;
  type: string;
  metrics: MetricValues[];
}

/** Provision a device in one of the person's factories; its credentials come back once. */
export function ProvisionDeviceModal({
  open,
  factories,
  defaultFactoryId,
  onClose,
  onProvisioned,
}: {
  open: boolean;
  factories: FactoryChoice[];
  defaultFactoryId: string | null;
  onClose: () => void;
  onProvisioned: (credentials: IssuedCredentials) => void;
}) {
  const { t } = useTranslation("devices");
  const [form] = Form.useForm<FormValues>();
  const [result, provision] = useMutation(ProvisionDeviceMutation);
  const [shownError, setShownError] = useState(false);
  const factoryId = Form.useWatch("factoryId", form);
  const slug = factories.find((factory) => factory.id === factoryId)?.slug;

  // A fresh form each time the dialog opens (not when the factories are asked again meanwhile).
  const choices = useRef({ factories, defaultFactoryId });
  choices.current = { factories, defaultFactoryId };
  useEffect(() => {
    if (open) {
      setShownError(false);
      form.resetFields();
      const { factories: all, defaultFactoryId: wanted } = choices.current;
      const initial =
        all.find((factory) => factory.id === wanted) ?? (all.length === 1 ? all[0] : undefined);
      if (initial) form.setFieldsValue({ factoryId: initial.id, key: `${initial.slug}-` });
    }
  }, [open, form]);

  const submit = async (values: FormValues) => {
    setShownError(true);
    const answer = await provision({
      input: {
        factoryId: values.factoryId,
        key: values.key.trim(),
        name: values.name.trim(),
        type: values.type.trim(),
        metrics: (values.metrics ?? []).map((metric) => ({
          name: metric.name.trim(),
          unit: metric.unit.trim(),
          minValue: metric.minValue ?? null,
          maxValue: metric.maxValue ?? null,
        })),
      },
    });
    const issued = answer.data?.provisionDevice;
    if (issued) {
      onProvisioned({
        deviceId: issued.device.id,
        username: issued.username,
        password: issued.password,
        telemetryTopic: issued.device.telemetryTopic,
      });
    }
  };

  return (
    <Modal
      open={open}
      title={t("provision.title")}
      onCancel={onClose}
      okText={t("provision.submit")}
      cancelText={t("provision.cancel")}
      confirmLoading={result.fetching}
      onOk={() => form.submit()}
      width={640}
      destroyOnHidden
    >
      {shownError && result.error ? <ErrorNotice error={result.error} /> : null}
      <Form<FormValues>
        form={form}
        layout="vertical"
        onFinish={(values) => void submit(values)}
        initialValues={{ metrics: [{ name: "", unit: "" }] }}
        style={{ marginTop: 16 }}
      >
        <Form.Item
          name="factoryId"
          label={t("provision.factory")}
          rules={[{ required: true, message: t("provision.factoryRequired") }]}
        >
          <Select
            showSearch={{ optionFilterProp: "label" }}
            options={factories.map((factory) => ({ value: factory.id, label: factory.name }))}
            onChange={(value: string) => {
              const chosen = factories.find((factory) => factory.id === value);
              const key: string = form.getFieldValue("key") ?? "";
              if (chosen && (key === "" || key.endsWith("-"))) {
                form.setFieldValue("key", `${chosen.slug}-`);
              }
            }}
          />
        </Form.Item>
        <Form.Item
          name="key"
          label={t("provision.key")}
          extra={t("provision.keyHelp", { example: `${slug ?? "factory"}-press-01` })}
          rules={[
            { required: true, message: t("provision.keyRequired") },
            { pattern: DEVICE_KEY_PATTERN, message: t("provision.keyPattern") },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t("provision.name")}
          rules={[{ required: true, whitespace: true, message: t("provision.nameRequired") }]}
        >
          <Input maxLength={200} />
        </Form.Item>
        <Form.Item
          name="type"
          label={t("provision.type")}
          extra={t("provision.typeHelp")}
          rules={[
            { required: true, message: t("provision.typeRequired") },
            { pattern: DEVICE_TYPE_PATTERN, message: t("provision.typePattern") },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.List name="metrics">
          {(fields, { add, remove }) => (
            <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
              <legend style={{ fontSize: 14, marginBottom: 8 }}>{t("provision.metrics")}</legend>
              {fields.map((field, index) => (
                <Space key={field.key} align="start" wrap>
                  <Form.Item
                    name={[field.name, "name"]}
                    rules={[
                      { required: true, message: t("provision.metricRequired") },
                      { pattern: METRIC_PATTERN, message: t("provision.metricPattern") },
                    ]}
                  >
                    <Input
                      placeholder="clamp_force_kn"
                      aria-label={t("provision.metricName", { index: index + 1 })}
                      autoComplete="off"
                    />
                  </Form.Item>
                  <Form.Item
                    name={[field.name, "unit"]}
                    rules={[
                      { required: true, whitespace: true, message: t("provision.unitRequired") },
                    ]}
                  >
                    <Input
                      placeholder="kN"
                      aria-label={t("provision.metricUnit", { index: index + 1 })}
                      style={{ width: 90 }}
                    />
                  </Form.Item>
                  <Form.Item name={[field.name, "minValue"]}>
                    <InputNumber
                      placeholder={t("provision.min")}
                      aria-label={t("provision.metricMin", { index: index + 1 })}
                      style={{ width: 100 }}
                    />
                  </Form.Item>
                  <Form.Item name={[field.name, "maxValue"]}>
                    <InputNumber
                      placeholder={t("provision.max")}
                      aria-label={t("provision.metricMax", { index: index + 1 })}
                      style={{ width: 100 }}
                    />
                  </Form.Item>
                  <Button
                    type="text"
                    icon={<MinusCircleOutlined />}
                    aria-label={t("provision.removeMetric", { index: index + 1 })}
                    onClick={() => remove(field.name)}
                  />
                </Space>
              ))}
              <Button
                type="dashed"
                icon={<PlusOutlined />}
                onClick={() => add({ name: "", unit: "" })}
              >
                {t("provision.addMetric")}
              </Button>
            </fieldset>
          )}
        </Form.List>
      </Form>
    </Modal>
  );
}
