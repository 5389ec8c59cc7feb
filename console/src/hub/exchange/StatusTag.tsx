import { Tag } from "antd";
import { useTranslation } from "react-i18next";

const COLOURS: Record<string, string> = {
  REQUESTED: "warning",
  OFFERED: "processing",
  AGREED: "processing",
  FINALIZED: "success",
  TERMINATED: "default",
};

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation("exchange");
  return (
    <Tag color={COLOURS[status] ?? "default"} data-testid="contract-status">
      {t(`status.${status}`)}
    </Tag>
  );
}
