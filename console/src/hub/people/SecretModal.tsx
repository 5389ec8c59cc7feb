import { Alert, Button, Descriptions, Modal, Typography } from "antd";
import { useTranslation } from "react-i18next";

export interface ShownSecret {
  title: string;
  /** What the secret belongs to: an email, a client id. */
  subjectLabel: string;
  subject: string;
  secretLabel: string;
  secret: string;
}

/** A password or client secret the API returned once: shown this time only, with copy. */
export function SecretModal({
  shown,
  onClose,
}: {
  shown: ShownSecret | null;
  onClose: () => void;
}) {
  const { t } = useTranslation("people");
  return (
    <Modal
      open={shown !== null}
      width={640}
      title={shown?.title}
      mask={{ closable: false }}
      keyboard={false}
      closable={false}
      destroyOnHidden
      footer={[
        <Button key="close" type="primary" onClick={onClose}>
          {t("secret.done")}
        </Button>,
      ]}
    >
      {shown ? (
        <>
          <Alert type="warning" showIcon title={t("secret.once")} style={{ marginBottom: 16 }} />
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={shown.subjectLabel}>
              <Typography.Text code copyable data-testid="secret-subject">
                {shown.subject}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={shown.secretLabel}>
              <Typography.Text
                code
                copyable={{ tooltips: [t("secret.copy"), t("secret.copied")] }}
                data-testid="secret-value"
              >
                {shown.secret}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
        </>
      ) : null}
    </Modal>
  );
}

/** A mutation's failure as one line: the API's message and code. */
export function errorText(error: { message: string; code: string | null }): string {
  return error.code ? `${error.message} (${error.code})` : error.message;
}
