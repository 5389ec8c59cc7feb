import { Alert, App, Button, Form, Input, Modal, Select, Space, Typography, Upload } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation, useQuery } from "urql";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketReleaseStatus } from "../../gql/hub/graphql";
import {
  MarketCountersign,
  MarketNodesQuery,
  MarketRequestInstallation,
  MarketRevokeRelease,
  MarketYankRelease,
} from "./documents";
import { isSignatureProblem, parseSignatureFile, type SignatureFile } from "./market";

type Change = "yank" | "revoke";

/** Yank or revoke behind a confirmation with a required reason; a refusal shows its code. */
export function ChangeStatus({
  releaseId,
  label,
  status,
  onChanged,
}: {
  releaseId: string;
  label: string;
  status: MarketReleaseStatus;
  onChanged: () => void;
}) {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const [open, setOpen] = useState<Change | null>(null);
  const [form] = Form.useForm<{ reason: string }>();
  const [yanked, yank] = useMutation(MarketYankRelease);
  const [revoked, revoke] = useMutation(MarketRevokeRelease);
  const state = open === "revoke" ? revoked : yanked;

  const confirm = async () => {
    let reason: string;
    try {
      ({ reason } = await form.validateFields());
    } catch {
      return;
    }
    const variables = { id: releaseId, reason: reason.trim() };
    const result = open === "revoke" ? await revoke(variables) : await yank(variables);
    if (result.data) {
      message.success(t(`change.${open}.done`, { release: label }));
      setOpen(null);
      onChanged();
    }
  };

  return (
    <>
      {status === "PUBLISHED" ? (
        <Button
          onClick={() => {
            form.resetFields();
            setOpen("yank");
          }}
        >
          {t("change.yank.button")}
        </Button>
      ) : null}
      {status !== "REVOKED" ? (
        <Button
          danger
          onClick={() => {
            form.resetFields();
            setOpen("revoke");
          }}
        >
          {t("change.revoke.button")}
        </Button>
      ) : null}
      <Modal
        open={open !== null}
        title={open ? t(`change.${open}.title`, { release: label }) : ""}
        okText={open ? t(`change.${open}.button`) : ""}
        okButtonProps={{ danger: open === "revoke" }}
        cancelText={t("cancel")}
        confirmLoading={state.fetching}
        onOk={confirm}
        onCancel={() => setOpen(null)}
        destroyOnHidden
      >
        {open ? (
          <>
            <Typography.Paragraph>{t(`change.${open}.explain`)}</Typography.Paragraph>
            <Form form={form} layout="vertical" name="release-change">
              <Form.Item
                name="reason"
                label={t("change.reason")}
                rules={[{ required: true, whitespace: true, message: t("change.reasonRequired") }]}
              >
                <Input.TextArea rows={3} maxLength={500} showCount />
              </Form.Item>
            </Form>
            {state.error ? <ErrorNotice error={state.error} title={t("change.failed")} /> : null}
          </>
        ) : null}
      </Modal>
    </>
  );
}

/** Install on one of the viewer's nodes (`marketNodes`), with the release's own settings. */
export function InstallButton({
  releaseId,
  label,
  onRequested,
}: {
  releaseId: string;
  label: string;
  onRequested: (installationId: string, node: string) => void;
}) {
  const { t } = useTranslation("market");
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<{ node: string; config?: string }>();
  const [nodes] = useQuery({ query: MarketNodesQuery, pause: !open });
  const [state, install] = useMutation(MarketRequestInstallation);
  const options = (nodes.data?.marketNodes ?? []).map((node) => ({
    value: node.name,
    label: `${node.name} · ${node.region} · ${
      node.yunfabVersion ? `Yunfab ${node.yunfabVersion}` : t("install.noVersion")
    } · ${node.online ? t("install.online") : t("install.offline")}`,
  }));

  const confirm = async () => {
    let values: { node: string; config?: string };
    try {
      values = await form.validateFields();
    } catch {
      return;
    }
    const config = values.config?.trim() ? (JSON.parse(values.config) as unknown) : null;
    const result = await install({ node: values.node, releaseId, config });
    if (result.data) {
      setOpen(false);
      onRequested(result.data.requestInstallation.id, result.data.requestInstallation.node);
    }
  };

  return (
    <>
      <Button
        type="primary"
        onClick={() => {
          form.resetFields();
          setOpen(true);
        }}
      >
        {t("install.button")}
      </Button>
      <Modal
        open={open}
        title={t("install.title", { release: label })}
        okText={t("install.confirm")}
        cancelText={t("cancel")}
        confirmLoading={state.fetching}
        onOk={confirm}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <QueryState
          fetching={nodes.fetching}
          error={nodes.error}
          hasData={options.length > 0}
          empty={t("install.noNodes")}
        >
          <Form form={form} layout="vertical" name="install-release">
            <Form.Item
              name="node"
              label={t("install.node")}
              rules={[{ required: true, message: t("install.chooseNode") }]}
            >
              <Select options={options} data-testid="install-node" />
            </Form.Item>
            <Form.Item
              name="config"
              label={t("install.config")}
              extra={t("install.configHelp")}
              rules={[
                {
                  validator: async (_, value?: string) => {
                    if (!value?.trim()) return;
                    let parsed: unknown;
                    try {
                      parsed = JSON.parse(value);
                    } catch {
                      throw new Error(t("install.configInvalid"));
                    }
                    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
                      throw new Error(t("install.configInvalid"));
                  },
                },
              ]}
            >
              <Input.TextArea rows={3} maxLength={16_000} placeholder='{"factory": "…"}' />
            </Form.Item>
          </Form>
        </QueryState>
        {state.error ? <ErrorNotice error={state.error} title={t("install.failed")} /> : null}
      </Modal>
    </>
  );
}

/** A reviewer's countersignature: the file `yunfab market sign --review` wrote. */
export function CountersignButton({
  releaseId,
  label,
  onSigned,
}: {
  releaseId: string;
  label: string;
  onSigned: () => void;
}) {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const [file, setFile] = useState<SignatureFile | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [state, countersign] = useMutation(MarketCountersign);

  const read = async (picked: File) => {
    const parsed = parseSignatureFile(await picked.text());
    if (isSignatureProblem(parsed)) {
      setFile(null);
      setProblem(t(`signatureProblems.${parsed}`));
    } else if (parsed.kind !== "reviewer") {
      setFile(null);
      setProblem(t("countersign.notReviewer"));
    } else {
      setFile(parsed);
      setProblem(null);
    }
  };

  const confirm = async () => {
    if (!file) return;
    const result = await countersign({ releaseId, keyId: file.keyId, signature: file.signature });
    if (result.data) {
      message.success(t("countersign.done", { release: label }));
      setOpen(false);
      onSigned();
    }
  };

  return (
    <>
      <Button
        onClick={() => {
          setFile(null);
          setProblem(null);
          setOpen(true);
        }}
      >
        {t("countersign.button")}
      </Button>
      <Modal
        open={open}
        title={t("countersign.title", { release: label })}
        okText={t("countersign.confirm")}
        okButtonProps={{ disabled: !file }}
        cancelText={t("cancel")}
        confirmLoading={state.fetching}
        onOk={confirm}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Typography.Paragraph>{t("countersign.explain")}</Typography.Paragraph>
          <Typography.Text code>
            yunfab market sign --review --manifest … --artifact … --key reviewer.pem --out
            review.sig.json
          </Typography.Text>
          <Upload
            accept=".json,application/json"
            maxCount={1}
            beforeUpload={(picked) => {
              void read(picked);
              return false;
            }}
            onRemove={() => setFile(null)}
          >
            <Button>{t("countersign.pick")}</Button>
          </Upload>
          {file ? (
            <Typography.Text>
              {t("countersign.key")} <code>{file.keyId}</code>
            </Typography.Text>
          ) : null}
          {problem ? <Alert type="warning" showIcon title={problem} /> : null}
          {state.error ? <ErrorNotice error={state.error} title={t("countersign.failed")} /> : null}
        </Space>
      </Modal>
    </>
  );
}
