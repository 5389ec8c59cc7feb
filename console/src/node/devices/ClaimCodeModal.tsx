import { Alert, Button, Descriptions, Modal, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";

export interface IssuedClaimCode {
  code: string;
  edgeNodeKey: string;
  expiresAt: string;
  claimCommand: string;
}

/** A gateway's one-time claim code, shown this once with the command to run on its box. */
export function ClaimCodeModal({
  issued,
  onClose,
}: {
  issued: IssuedClaimCode | null;
  onClose: () => void;
}) {
  const { t } = useTranslation("devices");
  const format = useFormat();
  return (
    <Modal
      open={issued !== null}
      title={issued ? t("gateway.claimTitle", { key: issued.edgeNodeKey }) : null}
      mask={{ closable: false }}
      keyboard={false}
      closable={false}
      destroyOnHidden
      footer={[
        <Button key="close" type="primary" onClick={onClose}>
          {t("gateway.claimDone")}
        </Button>,
      ]}
    >
      {issued ? (
        <>
          <Alert
            type="warning"
            showIcon
            title={t("gateway.claimOnce", { expires: format.dateTime(issued.expiresAt) })}
            style={{ marginBottom: 16 }}
          />
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t("gateway.claimCode")}>
              <Typography.Text
                code
                copyable={{ tooltips: [t("gateway.copy"), t("gateway.copied")] }}
                data-testid="claim-code"
              >
                {issued.code}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t("gateway.claimCommand")}>
              <Typography.Text
                code
                copyable={{ tooltips: [t("gateway.copy"), t("gateway.copied")] }}
                data-testid="claim-command"
              >
                {issued.claimCommand}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
          <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
            {t("gateway.claimHelp")}
          </Typography.Paragraph>
        </>
      ) : null}
    </Modal>
  );
}
