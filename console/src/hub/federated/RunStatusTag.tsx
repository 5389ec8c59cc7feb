import { Tag } from "antd";
import { useTranslation } from "react-i18next";
import type { FederatedRunStatus } from "../../gql/hub/graphql";

const COLORS: Record<FederatedRunStatus, string> = {
  STARTING: "default",
  RUNNING: "processing",
  FINISHED: "success",
  FAILED: "error",
};

export function RunStatusTag({ status }: { status: FederatedRunStatus }) {
  const { t } = useTranslation("federated");
  return (
    <Tag color={COLORS[status]} data-testid="run-status">
      {t(`status.${status}`)}
    </Tag>
  );
}
