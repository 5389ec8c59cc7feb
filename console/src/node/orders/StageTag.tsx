import { Tag } from "antd";
import { useTranslation } from "react-i18next";

/** An order's stage (and, when not open, its status) as a tag. */
export function StageTag({ stage, status }: { stage: string; status?: string }) {
  const { t } = useTranslation("orders");
  if (status === "CANCELLED") return <Tag color="error">{t("status.CANCELLED")}</Tag>;
  const color =
    stage === "DELIVERED" ? "success" : stage === "PLACED" ? "default" : ("processing" as const);
  return (
    <Tag color={color} data-testid="order-stage">
      {t(`stages.${stage}`)}
    </Tag>
  );
}
