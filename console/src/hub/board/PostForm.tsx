import {
  AutoComplete,
  Button,
  Col,
  Form,
  Input,
  InputNumber,
  Modal,
  Radio,
  Row,
  Select,
  Typography,
} from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useMutation } from "urql";
import { PROVINCE_CODES, regionLabel } from "../../components/provinces";
import { ErrorNotice } from "../../components/QueryState";
import {
  ITEM_PATTERN,
  isoDay,
  PLACES,
  type PostFormValues,
  postingInput,
  UNIT_PATTERN,
} from "./board";
import { PostMutation } from "./documents";

const ITEMS = [
  "injection-moulding",
  "cnc-machining",
  "sheet-metal-stamping",
  "weaving",
  "cold-rolled-steel-coil",
  "pp-resin",
  "abs-resin",
  "meltblown-fabric",
];
const UNITS = ["hours", "t", "kg", "pcs", "m"];

/** Post a need or an offer; the API's checks come back as its message and code. */
export function PostForm() {
  const { t, i18n } = useTranslation("board");
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<PostFormValues>();
  const [state, post] = useMutation(PostMutation);
  const language = i18n.language.startsWith("zh") ? "zh-CN" : "en";

  async function submit(values: PostFormValues) {
    const result = await post({ input: postingInput(values) });
    const posted = result.data?.postSupplyDemand;
    if (posted) {
      setOpen(false);
      form.resetFields();
      navigate(`/board/${posted.id}`);
    }
  }

  return (
    <>
      <Button type="primary" onClick={() => setOpen(true)}>
        {t("post.button")}
      </Button>
      <Modal
        open={open}
        width={760}
        title={t("post.title")}
        okText={t("post.submit")}
        cancelText={t("post.cancel")}
        confirmLoading={state.fetching}
        onCancel={() => setOpen(false)}
        onOk={() => form.submit()}
        forceRender
      >
        <Form<PostFormValues>
          form={form}
          layout="vertical"
          onFinish={submit}
          initialValues={{
            side: "NEED",
            resource: "CAPACITY",
            unit: "hours",
            availableFrom: isoDay(1),
            availableTo: isoDay(30),
          }}
        >
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item name="side" label={t("fields.side")}>
                <Radio.Group
                  optionType="button"
                  options={[
                    { value: "NEED", label: t("side.NEED") },
                    { value: "OFFER", label: t("side.OFFER") },
                  ]}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name="resource" label={t("fields.resource")}>
                <Radio.Group
                  optionType="button"
                  options={[
                    { value: "CAPACITY", label: t("resource.CAPACITY") },
                    { value: "MATERIAL", label: t("resource.MATERIAL") },
                  ]}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                name="item"
                label={t("fields.item")}
                htmlFor="post-item"
                extra={t("post.itemHelp")}
                rules={[
                  { required: true, message: t("post.required") },
                  { max: 63, pattern: ITEM_PATTERN, message: t("post.itemPattern") },
                ]}
              >
                <AutoComplete
                  id="post-item"
                  options={ITEMS.map((value) => ({ value }))}
                  filterOption={(input, option) =>
                    (option?.value ?? "").toString().includes(input.toLowerCase())
                  }
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name="quantity"
                label={t("fields.quantity")}
                htmlFor="post-quantity"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <InputNumber id="post-quantity" min={0.001} style={{ width: "100%" }} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name="unit"
                label={t("fields.unit")}
                htmlFor="post-unit"
                rules={[
                  { required: true, message: t("post.required") },
                  { max: 16, pattern: UNIT_PATTERN, message: t("post.unitPattern") },
                ]}
              >
                <AutoComplete id="post-unit" options={UNITS.map((value) => ({ value }))} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name="availableFrom"
                label={t("fields.from")}
                htmlFor="post-from"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <Input id="post-from" type="date" />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name="availableTo"
                label={t("fields.to")}
                htmlFor="post-to"
                dependencies={["availableFrom"]}
                rules={[
                  { required: true, message: t("post.required") },
                  ({ getFieldValue }) => ({
                    validator: (_, value: string) =>
                      !value ||
                      !getFieldValue("availableFrom") ||
                      value >= getFieldValue("availableFrom")
                        ? Promise.resolve()
                        : Promise.reject(new Error(t("post.windowOrder"))),
                  }),
                ]}
              >
                <Input id="post-to" type="date" />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item label={t("fields.place")} htmlFor="post-place" extra={t("post.placeHelp")}>
                <Select
                  id="post-place"
                  allowClear
                  showSearch={{ optionFilterProp: "label" }}
                  placeholder={t("post.placePlaceholder")}
                  options={PLACES.map((place) => ({
                    value: place.key,
                    label: `${place.city[language]} · ${regionLabel(place.region, i18n.language)}`,
                  }))}
                  onChange={(key) => {
                    const place = PLACES.find((candidate) => candidate.key === key);
                    if (place)
                      form.setFieldsValue({
                        city: place.city[language],
                        region: place.region,
                        latitude: place.latitude,
                        longitude: place.longitude,
                      });
                  }}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                name="city"
                label={t("fields.city")}
                htmlFor="post-city"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <Input id="post-city" maxLength={100} />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item
                name="region"
                label={t("fields.region")}
                htmlFor="post-region"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <Select
                  id="post-region"
                  showSearch={{ optionFilterProp: "label" }}
                  options={PROVINCE_CODES.map((code) => ({
                    value: code,
                    label: regionLabel(code, i18n.language),
                  }))}
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={8}>
              <Form.Item
                name="latitude"
                label={t("fields.latitude")}
                htmlFor="post-latitude"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <InputNumber
                  id="post-latitude"
                  min={-90}
                  max={90}
                  step={0.0001}
                  style={{ width: "100%" }}
                />
              </Form.Item>
            </Col>
            <Col xs={12} md={8}>
              <Form.Item
                name="longitude"
                label={t("fields.longitude")}
                htmlFor="post-longitude"
                rules={[{ required: true, message: t("post.required") }]}
              >
                <InputNumber
                  id="post-longitude"
                  min={-180}
                  max={180}
                  step={0.0001}
                  style={{ width: "100%" }}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item
                name="maxDistanceKm"
                label={t("fields.maxDistanceKm")}
                htmlFor="post-distance"
                extra={t("post.distanceHelp")}
              >
                <InputNumber id="post-distance" min={1} max={20100} style={{ width: "100%" }} />
              </Form.Item>
            </Col>
            <Col xs={24} md={16}>
              <Form.Item name="note" label={t("fields.note")} htmlFor="post-note">
                <Input.TextArea id="post-note" maxLength={1000} rows={2} />
              </Form.Item>
            </Col>
          </Row>
          {state.error ? <ErrorNotice error={state.error} title={t("post.refused")} /> : null}
          <Typography.Text type="secondary">{t("post.public")}</Typography.Text>
        </Form>
      </Modal>
    </>
  );
}
