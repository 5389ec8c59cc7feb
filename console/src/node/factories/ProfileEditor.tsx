import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import {
  App,
  Button,
  Col,
  Divider,
  Drawer,
  Flex,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Space,
} from "antd";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { isIsoDay } from "./capacity";
import {
  EQUIPMENT_TYPE_PATTERN,
  type ProfileSource,
  type ProfileValues,
  profileInput,
  profileValues,
  REGION_PATTERN,
} from "./profileForm";

const SaveFactoryProfile = graphql(`
  mutation SaveFactoryProfile($factoryId: UUID!, $input: FactoryProfileInput!) {
    saveFactoryProfile(factoryId: $factoryId, input: $input) {
      id
      name
      updatedAt
    }
  }
`);

/** The factory's profile (who it is, where, whom to call, what it makes and with what). */
export function ProfileEditor({
  factory,
  open,
  onClose,
  onSaved,
}: {
  factory: ProfileSource & { id: string };
  open: boolean;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation("factories");
  const { message } = App.useApp();
  const [form] = Form.useForm<ProfileValues>();
  const [state, save] = useMutation(SaveFactoryProfile);

  const submit = async () => {
    try {
      await form.validateFields();
    } catch {
      return; // the form shows what is missing
    }
    // All values, the equipment's parameters included (kept, not edited here).
    const values = form.getFieldsValue(true) as ProfileValues;
    const result = await save({ factoryId: factory.id, input: profileInput(values) });
    if (result.data) {
      message.success(t("edit.saved"));
      onSaved();
    }
  };

  return (
    <Drawer
      open={open}
      title={t("edit.title", { name: factory.name })}
      size="large"
      onClose={onClose}
      destroyOnHidden
      extra={
        <Space>
          <Button onClick={onClose}>{t("actions.cancel")}</Button>
          <Button type="primary" loading={state.fetching} onClick={submit}>
            {t("edit.save")}
          </Button>
        </Space>
      }
    >
      <Form
        form={form}
        layout="vertical"
        name="factory-profile"
        initialValues={profileValues(factory)}
      >
        <Form.Item
          name="name"
          label={t("invite.name")}
          rules={[{ required: true, whitespace: true, message: t("invite.nameRequired") }]}
        >
          <Input maxLength={200} />
        </Form.Item>
        <Divider titlePlacement="start">{t("edit.location")}</Divider>
        <Form.Item name="address" label={t("profile.address")}>
          <Input />
        </Form.Item>
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item name="city" label={t("edit.city")}>
              <Input />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item
              name="region"
              label={t("edit.region")}
              normalize={(value?: string) => value?.toUpperCase()}
              rules={[{ pattern: REGION_PATTERN, message: t("edit.regionInvalid") }]}
            >
              <Input placeholder="CN-GD" />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="lat" label={t("edit.lat")}>
              <InputNumber min={-90} max={90} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="lon" label={t("edit.lon")}>
              <InputNumber min={-180} max={180} style={{ width: "100%" }} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="timeZone" label={t("profile.timeZone")}>
              <Input placeholder="Asia/Shanghai" />
            </Form.Item>
          </Col>
        </Row>
        <Divider titlePlacement="start">{t("edit.contact")}</Divider>
        <Row gutter={12}>
          <Col span={8}>
            <Form.Item name="contactName" label={t("profile.contactName")}>
              <Input />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="phone" label={t("profile.phone")}>
              <Input />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item
              name="email"
              label={t("profile.email")}
              rules={[{ type: "email", message: t("invite.emailInvalid") }]}
            >
              <Input type="email" />
            </Form.Item>
          </Col>
        </Row>
        <Divider titlePlacement="start">{t("edit.capabilities")}</Divider>
        <Form.Item name="products" label={t("profile.products")} extra={t("edit.tagsHelp")}>
          <Select mode="tags" open={false} suffixIcon={null} aria-label={t("profile.products")} />
        </Form.Item>
        <Form.Item name="skills" label={t("profile.skills")} extra={t("edit.tagsHelp")}>
          <Select mode="tags" open={false} suffixIcon={null} aria-label={t("profile.skills")} />
        </Form.Item>
        <Divider titlePlacement="start">{t("detail.equipment")}</Divider>
        <Form.List name="equipment">
          {(fields, { add, remove }) => (
            <Flex vertical gap={4}>
              {fields.map((field, index) => (
                <Row gutter={8} key={field.key} align="top">
                  <Col span={9}>
                    <Form.Item
                      name={[field.name, "type"]}
                      label={t("equipment.type")}
                      rules={[
                        { required: true, message: t("edit.typeRequired") },
                        { pattern: EQUIPMENT_TYPE_PATTERN, message: t("edit.typeInvalid") },
                      ]}
                    >
                      <Input placeholder="injection-moulding-machine" />
                    </Form.Item>
                  </Col>
                  <Col span={8}>
                    <Form.Item
                      name={[field.name, "model"]}
                      label={t("equipment.model")}
                      rules={[
                        { required: true, whitespace: true, message: t("edit.modelRequired") },
                      ]}
                    >
                      <Input maxLength={120} />
                    </Form.Item>
                  </Col>
                  <Col span={5}>
                    <Form.Item
                      name={[field.name, "count"]}
                      label={t("equipment.count")}
                      rules={[{ required: true, message: t("edit.countRequired") }]}
                    >
                      <InputNumber min={1} max={100000} precision={0} style={{ width: "100%" }} />
                    </Form.Item>
                  </Col>
                  <Col span={2} style={{ paddingTop: 30 }}>
                    <Button
                      icon={<DeleteOutlined />}
                      aria-label={t("edit.removeEquipment", { index: index + 1 })}
                      onClick={() => remove(field.name)}
                    />
                  </Col>
                </Row>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ count: 1 })} block>
                {t("edit.addEquipment")}
              </Button>
            </Flex>
          )}
        </Form.List>
        <Divider titlePlacement="start">{t("profile.certifications")}</Divider>
        <Form.List name="certifications">
          {(fields, { add, remove }) => (
            <Flex vertical gap={4}>
              {fields.map((field, index) => (
                <Row gutter={8} key={field.key} align="top">
                  <Col span={9}>
                    <Form.Item
                      name={[field.name, "name"]}
                      label={t("edit.certificationName")}
                      rules={[
                        {
                          required: true,
                          whitespace: true,
                          message: t("edit.certificationRequired"),
                        },
                      ]}
                    >
                      <Input placeholder="ISO 9001" />
                    </Form.Item>
                  </Col>
                  <Col span={7}>
                    <Form.Item name={[field.name, "issuer"]} label={t("edit.issuer")}>
                      <Input />
                    </Form.Item>
                  </Col>
                  <Col span={6}>
                    <Form.Item
                      name={[field.name, "validUntil"]}
                      label={t("edit.validUntil")}
                      rules={[
                        {
                          validator: (_, value?: string) =>
                            !value || isIsoDay(value.trim())
                              ? Promise.resolve()
                              : Promise.reject(new Error(t("edit.dayInvalid"))),
                        },
                      ]}
                    >
                      <Input placeholder="2027-12-31" />
                    </Form.Item>
                  </Col>
                  <Col span={2} style={{ paddingTop: 30 }}>
                    <Button
                      icon={<DeleteOutlined />}
                      aria-label={t("edit.removeCertification", { index: index + 1 })}
                      onClick={() => remove(field.name)}
                    />
                  </Col>
                </Row>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({})} block>
                {t("edit.addCertification")}
              </Button>
            </Flex>
          )}
        </Form.List>
      </Form>
      {state.error ? (
        <div style={{ marginTop: 16 }}>
          <ErrorNotice error={state.error} title={t("edit.failed")} />
        </div>
      ) : null}
    </Drawer>
  );
}
