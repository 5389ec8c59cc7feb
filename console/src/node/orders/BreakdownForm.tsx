import { Alert, Button, Form, Input, Select, Space } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { ReportBreakdownDocument } from "./documents";

interface Values {
  factoryId?: string;
  process?: string;
  firstDay?: string;
  lastDay?: string;
  note?: string;
}

const WHOLE = "__whole__";

/**
 * A factory's equipment down for some days: its capacity goes and every open order with work
 * there is re-planned (`reportBreakdown`).
 */
export function BreakdownForm({
  workOrders,
  onReported,
}: {
  workOrders: readonly { factory: { id: string; name: string }; process: string }[];
  onReported: () => void;
}) {
  const { t } = useTranslation("orders");
  const [form] = Form.useForm<Values>();
  const [{ fetching, error }, report] = useMutation(ReportBreakdownDocument);
  const [done, setDone] = useState<number | null>(null);
  const factoryId = Form.useWatch("factoryId", form);
  const factories = useMemo(() => {
    const byId = new Map<string, { id: string; name: string; processes: Set<string> }>();
    for (const w of workOrders) {
      const entry = byId.get(w.factory.id) ?? { ...w.factory, processes: new Set<string>() };
      entry.processes.add(w.process);
      byId.set(w.factory.id, entry);
    }
    return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [workOrders]);
  const processes = [...(factories.find((f) => f.id === factoryId)?.processes ?? [])].sort();

  const submit = async (values: Values) => {
    setDone(null);
    const result = await report({
      input: {
        factoryId: values.factoryId ?? "",
        firstDay: values.firstDay ?? "",
        lastDay: values.lastDay ?? "",
        process: values.process && values.process !== WHOLE ? values.process : null,
        note: values.note?.trim() || null,
      },
    });
    if (!result.error && result.data) {
      setDone(result.data.reportBreakdown.replanned.length);
      form.resetFields();
      onReported();
    }
  };

  return (
    <Form<Values>
      form={form}
      layout="vertical"
      onFinish={submit}
      initialValues={{ process: WHOLE }}
      aria-label={t("breakdown.title")}
    >
      <Space wrap align="start">
        <Form.Item
          name="factoryId"
          label={t("breakdown.factory")}
          rules={[{ required: true, message: t("breakdown.errors.factory") }]}
        >
          <Select
            style={{ width: 240 }}
            options={factories.map((f) => ({ value: f.id, label: f.name }))}
            onChange={() => form.setFieldValue("process", WHOLE)}
          />
        </Form.Item>
        <Form.Item name="process" label={t("breakdown.process")}>
          <Select
            style={{ width: 200 }}
            options={[
              { value: WHOLE, label: t("breakdown.wholeFactory") },
              ...processes.map((p) => ({ value: p, label: p })),
            ]}
          />
        </Form.Item>
        <Form.Item
          name="firstDay"
          label={t("breakdown.firstDay")}
          rules={[{ required: true, message: t("breakdown.errors.firstDay") }]}
        >
          <Input type="date" />
        </Form.Item>
        <Form.Item
          name="lastDay"
          label={t("breakdown.lastDay")}
          dependencies={["firstDay"]}
          rules={[
            { required: true, message: t("breakdown.errors.lastDay") },
            ({ getFieldValue }) => ({
              validator: (_, value?: string) => {
                const first: string | undefined = getFieldValue("firstDay");
                return !value || !first || value >= first
                  ? Promise.resolve()
                  : Promise.reject(new Error(t("breakdown.errors.order")));
              },
            }),
          ]}
        >
          <Input type="date" />
        </Form.Item>
        <Form.Item name="note" label={t("breakdown.note")}>
          <Input style={{ width: 280 }} maxLength={500} />
        </Form.Item>
      </Space>
      {error ? <ErrorNotice error={error} /> : null}
      {done !== null ? (
        <Alert type="success" showIcon title={t("breakdown.done", { count: done })} />
      ) : null}
      <Button type="primary" danger htmlType="submit" loading={fetching} style={{ marginTop: 8 }}>
        {t("breakdown.submit")}
      </Button>
    </Form>
  );
}
