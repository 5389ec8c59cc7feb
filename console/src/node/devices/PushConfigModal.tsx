import { Alert, Input, Modal, Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { PushGatewayConfigMutation } from "./queries";

/** The node's largest accepted configuration (pushGatewayConfig), checked before sending. */
const MAX_CONFIG_BYTES = 256 * 1024;

/** A whole gateway.toml pushed to the gateway as a new version; the node checks it with the
 * gateway's own parser and says what is wrong. */
export function PushConfigModal({
  open,
  deviceId,
  onClose,
  onPushed,
}: {
  open: boolean;
  deviceId: string;
  onClose: () => void;
  onPushed: (version: number) => void;
}) {
  const { t } = useTranslation("devices");
  const [text, setText] = useState("");
  const [result, push] = useMutation(PushGatewayConfigMutation);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  useEffect(() => {
    if (open) {
      setText("");
      setRefusal(null);
    }
  }, [open]);
  const tooLarge = new TextEncoder().encode(text).length > MAX_CONFIG_BYTES;

  const submit = async () => {
    setRefusal(null);
    const answer = await push({ input: { deviceId, config: text } });
    const made = answer.data?.pushGatewayConfig;
    if (made?.__typename === "PushGatewayConfigSuccess") onPushed(made.version);
    else if (made?.__typename === "PushGatewayConfigError") {
      setRefusal({ code: made.code, message: made.message });
    }
  };

  return (
    <Modal
      open={open}
      title={t("gateway.pushTitle")}
      onCancel={onClose}
      okText={t("gateway.pushSubmit")}
      cancelText={t("provision.cancel")}
      okButtonProps={{ disabled: text.trim() === "" || tooLarge }}
      confirmLoading={result.fetching}
      onOk={() => void submit()}
      width={760}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t("gateway.pushHelp")}</Typography.Paragraph>
      {result.error ? <ErrorNotice error={result.error} /> : null}
      {refusal ? (
        <Alert
          type="error"
          showIcon
          title={refusal.message}
          description={refusal.code}
          style={{ marginBottom: 12 }}
        />
      ) : null}
      {tooLarge ? (
        <Alert
          type="error"
          showIcon
          title={t("gateway.pushTooLarge")}
          style={{ marginBottom: 12 }}
        />
      ) : null}
      <Input.TextArea
        aria-label={t("gateway.pushLabel")}
        value={text}
        onChange={(event) => setText(event.target.value)}
        autoSize={{ minRows: 12, maxRows: 28 }}
        spellCheck={false}
        style={{ fontFamily: "monospace" }}
      />
    </Modal>
  );
}
