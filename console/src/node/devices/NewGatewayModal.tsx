import { Alert, Form, Input, InputNumber, Modal, Select } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import type { IssuedClaimCode } from "./ClaimCodeModal";
import { CreateClaimCodeMutation } from "./queries";
import { DEVICE_KEY_PATTERN } from "./status";
import type { FactoryChoice } from "./useFactoryNames";

interface FormValues {
  factoryId: string;
  edgeNodeKey: string;
  validHours: number;
}

/** A claim code for a gateway not on the node yet: the claim provisions it and its machines. */
export function NewGatewayModal({
  open,
  factories,
  defaultFactoryId,
  onClose,
  onIssued,
}: {
  open: boolean;
  factories: FactoryChoice[];
  defaultFactoryId: string | null;
  onClose: () => void;
  onIssued: (issued: IssuedClaimCode) => void;
}) {
  const { t } = useTranslation("devices");
  const [form] = Form.useForm<FormValues>();
  const [result, create] = useMutation(CreateClaimCodeMutation);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);

  const choices = useRef({ factories, defaultFactoryId });
  choices.current = { factories, defaultFactoryId };
  useEffect(() => {
    if (open) {
      setRefusal(null);
      form.resetFields();
      const { factories: all, defaultFactoryId: wanted } = choices.current;
      const initial =
        all.find((factory) => factory.id === wanted) ?? (all.length === 1 ? all[0] : undefined);
      if (initial)
        form.setFieldsValue({ factoryId: initial.id, edgeNodeKey: `${initial.slug}-gw` });
    }
  }, [open, form]);

  const submit = async (values: FormValues) => {
    setRefusal(null);
    const answer = await create({
      input: {
        factoryId: values.factoryId,
        edgeNodeKey: values.edgeNodeKey.trim(),
        validHours: values.validHours,
      },
    });
    const made = answer.data?.createGatewayClaimCode;
    if (made?.__typename === "CreateGatewayClaimCodeSuccess") {
      onIssued({
        code: made.code,
        edgeNodeKey: made.edgeNodeKey,
        expiresAt: made.expiresAt,
        claimCommand: made.claimCommand,
      });
    } else if (made?.__typename === "CreateGatewayClaimCodeError") {
      setRefusal({ code: made.code, message: made.message });
    }
  };

  return (
    <Modal
      open={open}
      title={t("gateway.newTitle")}
      onCancel={onClose}
      okText={t("gateway.newSubmit")}
      cancelText={t("provision.cancel")}
      confirmLoading={result.fetching}
      onOk={() => form.submit()}
      destroyOnHidden
    >
      {result.error ? <ErrorNotice error={result.error} /> : null}
      {refusal ? (
        <Alert type="error" showIcon title={refusal.message} description={refusal.code} />
      ) : null}
      <Form<FormValues>
        form={form}
        layout="vertical"
        onFinish={(values) => void submit(values)}
        initialValues={{ validHours: 24 }}
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
              if (chosen) form.setFieldValue("edgeNodeKey", `${chosen.slug}-gw`);
            }}
          />
        </Form.Item>
        <Form.Item
          name="edgeNodeKey"
          label={t("gateway.edgeNodeKey")}
          extra={t("gateway.edgeNodeKeyHelp")}
          rules={[
            { required: true, message: t("provision.keyRequired") },
            { pattern: DEVICE_KEY_PATTERN, message: t("provision.keyPattern") },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="validHours" label={t("gateway.validHours")}>
          <InputNumber min={1} max={168} precision={0} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
