import { Modal, Typography } from "antd";
import type { ReactNode } from "react";

/**
 * A dialog around a form that asks the API on OK: its refusal (`problem`, the API's message and
 * code) stays under the form until the next try.
 */
export function FormModal({
  open,
  title,
  okText,
  cancelText,
  onOk,
  confirmLoading,
  onCancel,
  width,
  problem,
  children,
}: {
  open: boolean;
  title: ReactNode;
  okText: string;
  cancelText: string;
  onOk: () => void;
  confirmLoading: boolean;
  onCancel: () => void;
  width?: number;
  problem?: string | null;
  children: ReactNode;
}) {
  return (
    <Modal
      open={open}
      {...(width !== undefined ? { width } : {})}
      title={title}
      okText={okText}
      cancelText={cancelText}
      onOk={onOk}
      confirmLoading={confirmLoading}
      onCancel={onCancel}
      destroyOnHidden
    >
      {children}
      {problem ? (
        <Typography.Text type="danger" role="alert">
          {problem}
        </Typography.Text>
      ) : null}
    </Modal>
  );
}
