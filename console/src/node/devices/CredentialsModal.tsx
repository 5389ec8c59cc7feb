import { DownloadOutlined } from "@ant-design/icons";
import { Alert, Button, Descriptions, Modal, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useAuth } from "../../auth/AuthContext";
import { credentialsFile } from "./status";

export interface IssuedCredentials {
  deviceId: string;
  username: string;
  password: string;
  telemetryTopic: string;
}

/** A device's new secret, shown this once: copy it or download it as a file. */
export function CredentialsModal({
  credentials,
  onClose,
  closeLabel,
}: {
  credentials: IssuedCredentials | null;
  onClose: () => void;
  closeLabel?: string;
}) {
  const { t } = useTranslation("devices");
  const { config } = useAuth();

  const download = () => {
    if (!credentials) return;
    const nodeUrl = config.resource;
    const file = credentialsFile({ ...credentials, nodeUrl });
    const url = URL.createObjectURL(new Blob([file.text], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = file.name;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <Modal
      open={credentials !== null}
      title={t("credentials.title")}
      mask={{ closable: false }}
      keyboard={false}
      closable={false}
      destroyOnHidden
      footer={[
        <Button key="download" icon={<DownloadOutlined />} onClick={download}>
          {t("credentials.download")}
        </Button>,
        <Button key="close" type="primary" onClick={onClose}>
          {closeLabel ?? t("credentials.done")}
        </Button>,
      ]}
    >
      {credentials ? (
        <>
          <Alert
            type="warning"
            showIcon
            title={t("credentials.once")}
            style={{ marginBottom: 16 }}
          />
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t("credentials.username")}>
              <Typography.Text code copyable data-testid="credentials-username">
                {credentials.username}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t("credentials.password")}>
              <Typography.Text
                code
                copyable={{ tooltips: [t("credentials.copy"), t("credentials.copied")] }}
                data-testid="credentials-password"
              >
                {credentials.password}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t("credentials.topic")}>
              <Typography.Text code>{credentials.telemetryTopic}</Typography.Text>
            </Descriptions.Item>
          </Descriptions>
        </>
      ) : null}
    </Modal>
  );
}
