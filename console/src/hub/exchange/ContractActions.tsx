import { Button, Form, Input, Modal, Space } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { type CombinedError, useMutation } from "urql";
import { useViewer } from "../../auth/useViewer";
import {
  AgreeContractDocument,
  FinalizeContractDocument,
  OfferContractDocument,
  TerminateContractDocument,
} from "./documents";
import { RefusalNotice } from "./RefusalNotice";

export interface ContractForActions {
  id: string;
  status: string;
  consumerOrganizationId: string;
  providerOrganizationId: string;
}

/**
 * The next step each side may take: the provider offers terms and finalizes, the consumer
 * agrees and queries, either terminates (with a reason). Which side the viewer is on is the
 * contract's; whether they may act is the API's (`can`), which still decides each step.
 */
export function ContractActions({
  contract,
  onDone,
  size = "small",
}: {
  contract: ContractForActions;
  onDone?: () => void;
  size?: "small" | "middle";
}) {
  const { t } = useTranslation("exchange");
  const viewer = useViewer();
  const [error, setError] = useState<CombinedError>();
  const [terminating, setTerminating] = useState(false);
  const [offer, offerIt] = useMutation(OfferContractDocument);
  const [agree, agreeIt] = useMutation(AgreeContractDocument);
  const [finalize, finalizeIt] = useMutation(FinalizeContractDocument);
  const [terminate, terminateIt] = useMutation(TerminateContractDocument);
  const [form] = Form.useForm<{ reason: string }>();

  const provider = viewer.organization === contract.providerOrganizationId;
  const consumer = viewer.organization === contract.consumerOrganizationId;
  const decides = provider && viewer.can.decideContracts !== false;
  const agrees = consumer && viewer.can.requestContracts !== false;
  const status = contract.status;

  const after = (result: { error?: CombinedError | undefined }) => {
    setError(result.error);
    if (!result.error) onDone?.();
  };

  const submitTermination = async () => {
    const { reason } = await form.validateFields();
    const result = await terminateIt({ id: contract.id, reason: reason.trim() });
    after(result);
    if (!result.error) {
      setTerminating(false);
      form.resetFields();
    }
  };

  return (
    <>
      <Space wrap size="small">
        {decides && status === "REQUESTED" ? (
          <Button
            size={size}
            type="primary"
            loading={offer.fetching}
            onClick={async () => after(await offerIt({ id: contract.id }))}
          >
            {t("actions.offer")}
          </Button>
        ) : null}
        {agrees && status === "OFFERED" ? (
          <Button
            size={size}
            type="primary"
            loading={agree.fetching}
            onClick={async () => after(await agreeIt({ id: contract.id }))}
          >
            {t("actions.agree")}
          </Button>
        ) : null}
        {decides && status === "AGREED" ? (
          <Button
            size={size}
            type="primary"
            loading={finalize.fetching}
            onClick={async () => after(await finalizeIt({ id: contract.id }))}
          >
            {t("actions.finalize")}
          </Button>
        ) : null}
        {consumer && status === "FINALIZED" && viewer.can.queryData !== false ? (
          <Link to={`/exchange/query?contract=${contract.id}`}>{t("actions.query")}</Link>
        ) : null}
        {(provider || consumer) && status !== "TERMINATED" ? (
          <Button size={size} danger onClick={() => setTerminating(true)}>
            {t("actions.terminate")}
          </Button>
        ) : null}
      </Space>
      {error ? (
        <div style={{ marginTop: 8 }}>
          <RefusalNotice error={error} />
        </div>
      ) : null}
      <Modal
        open={terminating}
        title={t("actions.terminateTitle")}
        okText={t("actions.confirm")}
        cancelText={t("actions.cancel")}
        okButtonProps={{ danger: true, loading: terminate.fetching }}
        onOk={submitTermination}
        onCancel={() => setTerminating(false)}
        destroyOnHidden
      >
        <Form form={form} layout="vertical">
          <Form.Item
            name="reason"
            label={t("actions.reason")}
            rules={[
              { required: true, whitespace: true, message: t("actions.reasonRequired") },
              { max: 500, message: t("actions.reasonRequired") },
            ]}
          >
            <Input.TextArea rows={3} maxLength={500} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}
