import { Button, Modal, Radio, Space, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { ErrorNotice } from "../../components/QueryState";
import type { BoardPostingFieldsFragment } from "../../gql/hub/graphql";
import { CloseMutation } from "./documents";

export type Posting = BoardPostingFieldsFragment;

export function SideTag({ side }: { side: string }) {
  const { t } = useTranslation("board");
  return <Tag color={side === "NEED" ? "processing" : "success"}>{t(`side.${side}`)}</Tag>;
}

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation("board");
  const color = status === "OPEN" ? "processing" : status === "FILLED" ? "success" : "default";
  return <Tag color={color}>{t(`status.${status}`)}</Tag>;
}

export function Quantity({ quantity, unit }: { quantity: number; unit: string }) {
  const format = useFormat();
  return (
    <span>
      {format.number(quantity)} {unit}
    </span>
  );
}

export function Window({ from, to }: { from: string; to: string }) {
  const format = useFormat();
  return (
    <span>
      {format.date(`${from}T00:00:00`)} – {format.date(`${to}T00:00:00`)}
    </span>
  );
}

/** Whether the signed-in person may take this posting off the board (the API still checks). */
export function useMayClose(posting: Posting): boolean {
  const viewer = useViewer();
  return (
    viewer.can.postToBoard === true &&
    posting.status === "OPEN" &&
    viewer.organization === posting.organizationId
  );
}

/** Take a posting off the board, as withdrawn or as filled, after a confirmation. */
export function CloseButton({ posting, size }: { posting: Posting; size?: "small" }) {
  const { t } = useTranslation("board");
  const mayClose = useMayClose(posting);
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState<"WITHDRAWN" | "FILLED">("WITHDRAWN");
  const [state, close] = useMutation(CloseMutation);
  if (!mayClose) return null;
  const what = `${t(`side.${posting.side}`)} · ${posting.item}`;
  return (
    <>
      <Button
        size={size}
        danger
        onClick={() => setOpen(true)}
        aria-label={t("close.button", { what })}
      >
        {t("close.short")}
      </Button>
      <Modal
        open={open}
        title={t("close.title", { what })}
        okText={t("close.confirm")}
        cancelText={t("close.cancel")}
        okButtonProps={{ danger: true }}
        confirmLoading={state.fetching}
        onCancel={() => setOpen(false)}
        onOk={async () => {
          const result = await close({ id: posting.id, status });
          if (!result.error) setOpen(false);
        }}
        destroyOnHidden
      >
        <Space orientation="vertical">
          <Typography.Text>{t("close.explain")}</Typography.Text>
          <Radio.Group
            aria-label={t("close.as")}
            value={status}
            onChange={(event) => setStatus(event.target.value)}
            options={[
              { value: "WITHDRAWN", label: t("close.withdrawn") },
              { value: "FILLED", label: t("close.filled") },
            ]}
          />
          {state.error ? <ErrorNotice error={state.error} /> : null}
        </Space>
      </Modal>
    </>
  );
}
