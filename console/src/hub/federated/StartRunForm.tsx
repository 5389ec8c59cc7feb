import {
  Alert,
  Button,
  Form,
  Input,
  InputNumber,
  Modal,
  Radio,
  Select,
  Space,
  Typography,
} from "antd";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { StartFederatedRunDocument } from "./documents";
import { START_DEFAULTS, type StartRunValues, startRunInput } from "./shaping";

/** The "start a run" dialog; the API checks every value and its message is shown as it came. */
export function StartRunForm({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation("federated");
  const navigate = useNavigate();
  const [form] = Form.useForm<StartRunValues>();
  const [{ fetching, error }, start] = useMutation(StartFederatedRunDocument);
  const strategy = Form.useWatch("strategy", form);
  const privacy = Form.useWatch("privacy", form);

  const submit = async (values: StartRunValues) => {
    const result = await start({ input: startRunInput(values) });
    const run = result.data?.startFederatedRun;
    if (run) navigate(`/federated/runs/${run.id}`);
  };

  const required = [{ required: true, message: t("form.required") }];
  return (
    <Modal
      open={open}
      title={t("form.title")}
      onCancel={onClose}
      width={720}
      destroyOnHidden
      footer={
        <Space>
          <Button onClick={onClose}>{t("form.cancel")}</Button>
          <Button
            type="primary"
            loading={fetching}
            onClick={() => form.submit()}
            data-testid="start-run-submit"
          >
            {t("form.submit")}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t("form.help")}</Typography.Paragraph>
      {error ? <ErrorNotice error={error} title={t("form.refused")} /> : null}
      <Form<StartRunValues>
        form={form}
        layout="vertical"
        initialValues={START_DEFAULTS}
        onFinish={submit}
        aria-label={t("form.title")}
        style={{ marginTop: 16 }}
      >
        <Form.Item name="label" label={t("fields.label")}>
          <Input maxLength={100} placeholder={t("form.labelPlaceholder")} />
        </Form.Item>
        <Space wrap align="start">
          <Form.Item name="strategy" label={t("fields.strategy")} rules={required}>
            <Select
              style={{ width: 160 }}
              options={[
                { value: "FEDAVG", label: t("strategy.FEDAVG") },
                { value: "FEDPROX", label: t("strategy.FEDPROX") },
              ]}
            />
          </Form.Item>
          <Form.Item
            name="rounds"
            label={t("fields.rounds")}
            extra={t("form.roundsHelp")}
            rules={required}
          >
            <InputNumber min={2} max={100} precision={0} style={{ width: 140 }} />
          </Form.Item>
          <Form.Item
            name="minNodes"
            label={t("fields.minNodes")}
            extra={t("form.minNodesHelp")}
            rules={required}
          >
            <InputNumber min={1} max={1000} precision={0} style={{ width: 140 }} />
          </Form.Item>
        </Space>
        <Space wrap align="start">
          <Form.Item name="localEpochs" label={t("fields.localEpochs")} rules={required}>
            <InputNumber min={1} max={1000} precision={0} style={{ width: 140 }} />
          </Form.Item>
          <Form.Item name="learningRate" label={t("fields.learningRate")} rules={required}>
            <InputNumber min={0} max={10} step={0.01} style={{ width: 140 }} />
          </Form.Item>
          {strategy === "FEDPROX" ? (
            <Form.Item
              name="proximalMu"
              label={t("fields.proximalMu")}
              extra={t("form.proximalMuHelp")}
              rules={required}
            >
              <InputNumber min={0} max={100} step={0.01} style={{ width: 140 }} />
            </Form.Item>
          ) : null}
          <Form.Item
            name="roundTimeoutS"
            label={t("fields.roundTimeoutS")}
            extra={t("form.timeoutHelp")}
            rules={required}
          >
            <InputNumber min={10} max={86400} precision={0} style={{ width: 160 }} />
          </Form.Item>
        </Space>
        <Form.Item name="privacy" label={t("fields.privacy")} extra={t("form.privacyHelp")}>
          <Radio.Group
            optionType="button"
            options={[
              { value: "none", label: t("privacy.none") },
              { value: "dp", label: t("privacy.dp") },
              { value: "secagg", label: t("privacy.secagg") },
            ]}
          />
        </Form.Item>
        {privacy === "dp" ? (
          <Space wrap align="start">
            <Form.Item
              name="dpNoiseMultiplier"
              label={t("fields.dpNoiseMultiplier")}
              extra={t("form.dpNoiseHelp")}
              rules={required}
            >
              <InputNumber min={0} max={100} step={0.1} style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name="dpClippingNorm" label={t("fields.dpClippingNorm")} rules={required}>
              <InputNumber min={0} max={1e6} step={0.5} style={{ width: 160 }} />
            </Form.Item>
          </Space>
        ) : null}
        {privacy === "secagg" ? (
          <Space wrap align="start">
            <Form.Item
              name="secaggClippingRange"
              label={t("fields.secaggClippingRange")}
              extra={t("form.secaggClippingHelp")}
              rules={required}
            >
              <InputNumber min={0} max={1e9} style={{ width: 180 }} />
            </Form.Item>
            <Form.Item
              name="secaggMaxWeight"
              label={t("fields.secaggMaxWeight")}
              extra={t("form.secaggMaxWeightHelp")}
              rules={required}
            >
              <InputNumber min={1} max={1e9} precision={0} style={{ width: 180 }} />
            </Form.Item>
          </Space>
        ) : null}
        {privacy === "secagg" && (form.getFieldValue("minNodes") ?? 2) < 3 ? (
          <Alert type="info" showIcon title={t("form.privacyHelp")} />
        ) : null}
      </Form>
    </Modal>
  );
}
