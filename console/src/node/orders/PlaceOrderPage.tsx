import { Alert, Button, Card, Form, Input, InputNumber, Select, Space, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { OrderRoutingsDocument, PlaceOrderDocument } from "./documents";
import {
  MAX_QUANTITY,
  type PlaceOrderValues,
  placeOrderInput,
  validatePlaceOrder,
} from "./shaping";

function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export default function PlaceOrderPage() {
  const { t } = useTranslation("orders");
  const viewer = useViewer();
  const navigate = useNavigate();
  const [form] = Form.useForm<PlaceOrderValues>();
  const [routings] = useQuery({ query: OrderRoutingsDocument });
  const [{ fetching, error }, place] = useMutation(PlaceOrderDocument);
  const products = routings.data?.routings ?? [];

  const submit = async (values: PlaceOrderValues) => {
    const errors = validatePlaceOrder(values, today());
    const fields = Object.entries(errors).map(([name, key]) => ({
      name: name as keyof PlaceOrderValues,
      errors: [t(key)],
    }));
    if (fields.length > 0) {
      form.setFields(fields);
      return;
    }
    const result = await place({ input: placeOrderInput(values) });
    const placed = result.data?.placeOrder;
    if (placed) navigate(`/orders/${placed.number}`);
  };

  return (
    <>
      <Typography.Paragraph>
        <Link to="/orders">{t("detail.back")}</Link>
      </Typography.Paragraph>
      <Typography.Title level={2}>{t("form.title")}</Typography.Title>
      {viewer.can.placeOrders === false ? (
        <Alert type="warning" showIcon title={t("form.notAllowed")} />
      ) : (
        <Card>
          <QueryState
            fetching={routings.fetching}
            error={routings.error}
            hasData={products.length > 0}
            empty={t("form.noProducts")}
          >
            <Form<PlaceOrderValues>
              form={form}
              layout="vertical"
              onFinish={submit}
              initialValues={{ rampDays: 0 }}
              style={{ maxWidth: 640 }}
              aria-label={t("form.title")}
            >
              <Form.Item
                name="product"
                label={t("fields.product")}
                rules={[{ required: true, message: t("form.errors.product") }]}
              >
                <Select
                  showSearch
                  optionFilterProp="label"
                  options={products.map((r) => ({
                    value: r.product,
                    label: `${r.name} (${r.product})`,
                  }))}
                />
              </Form.Item>
              <Space wrap align="start">
                <Form.Item
                  name="quantity"
                  label={t("fields.quantity")}
                  rules={[{ required: true, message: t("form.errors.quantity") }]}
                >
                  <InputNumber min={1} max={MAX_QUANTITY} precision={0} style={{ width: 200 }} />
                </Form.Item>
                <Form.Item
                  name="dailyTarget"
                  label={t("fields.dailyTarget")}
                  tooltip={t("form.dailyTargetHelp")}
                  rules={[{ required: true, message: t("form.errors.dailyTarget") }]}
                >
                  <InputNumber min={1} max={MAX_QUANTITY} precision={0} style={{ width: 200 }} />
                </Form.Item>
                <Form.Item
                  name="rampDays"
                  label={t("fields.rampDays")}
                  tooltip={t("form.rampDaysHelp")}
                >
                  <InputNumber min={0} precision={0} style={{ width: 160 }} />
                </Form.Item>
              </Space>
              <Space wrap align="start">
                <Form.Item
                  name="startDate"
                  label={t("fields.startDate")}
                  extra={t("form.startDateHelp")}
                >
                  <Input type="date" style={{ width: 200 }} />
                </Form.Item>
                <Form.Item
                  name="dueDate"
                  label={t("fields.dueDate")}
                  rules={[{ required: true, message: t("form.errors.dueRequired") }]}
                >
                  <Input type="date" style={{ width: 200 }} />
                </Form.Item>
              </Space>
              <Form.Item name="buyerReference" label={t("fields.buyerReference")}>
                <Input maxLength={100} />
              </Form.Item>
              <Form.Item name="note" label={t("fields.note")}>
                <Input.TextArea rows={3} maxLength={500} />
              </Form.Item>
              {error ? (
                <div style={{ marginBottom: 16 }}>
                  <ErrorNotice error={error} title={t("form.refused")} />
                </div>
              ) : null}
              <Button type="primary" htmlType="submit" loading={fetching}>
                {t("form.submit")}
              </Button>
            </Form>
          </QueryState>
        </Card>
      )}
    </>
  );
}
