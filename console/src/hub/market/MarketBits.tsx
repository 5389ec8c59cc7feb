import { SafetyCertificateOutlined } from "@ant-design/icons";
import { Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { MarketInstallationState, MarketReleaseStatus } from "../../gql/hub/graphql";
import { INSTALLATION_COLORS, RELEASE_COLORS } from "./market";

export function KindTag({ kind }: { kind: string }) {
  const { t } = useTranslation("market");
  return <Tag>{t(`kinds.${kind}`, { defaultValue: kind })}</Tag>;
}

export function VerifiedTag({ verified }: { verified: boolean }) {
  const { t } = useTranslation("market");
  return verified ? (
    <Tag color="success" icon={<SafetyCertificateOutlined />}>
      {t("verified")}
    </Tag>
  ) : (
    <Tag>{t("unverified")}</Tag>
  );
}

export function ReleaseStatusTag({ status }: { status: MarketReleaseStatus }) {
  const { t } = useTranslation("market");
  return <Tag color={RELEASE_COLORS[status]}>{t(`releaseStatus.${status}`)}</Tag>;
}

export function InstallationTag({ status }: { status: MarketInstallationState }) {
  const { t } = useTranslation("market");
  return (
    <Tag color={INSTALLATION_COLORS[status]} data-status={status}>
      {t(`installStatus.${status}`)}
    </Tag>
  );
}

/** JSON as it is, wrapped (no scroll box of its own: that would need keyboard access). */
export function Json({ value }: { value: unknown }) {
  return (
    <pre
      style={{ margin: 0, fontSize: 12, whiteSpace: "pre-wrap", wordBreak: "break-word" }}
      data-testid="json"
    >
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** A long opaque value (digest, signature) in monospace, copyable. */
export function Opaque({ value }: { value: string }) {
  return (
    <Typography.Text code copyable={{ text: value }} style={{ wordBreak: "break-all" }}>
      {value}
    </Typography.Text>
  );
}
