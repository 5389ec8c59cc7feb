import { Alert, Card, Descriptions, Steps, Timeline, Typography } from "antd";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { MarketInstallationState } from "../../gql/hub/graphql";
import { MarketInstallationsQuery } from "./documents";
import { InstallationTag } from "./MarketBits";
import { INSTALLATION_STEPS, isSettled } from "./market";

const POLL_MS = 2000;

/**
 * One installation followed live until its node has finished with it: the hub has no
 * subscription for installations, so the node's list is asked again every two seconds while
 * the installation is still on its way (the node polls the hub and reports back).
 */
export function InstallationFollow({
  node,
  installationId,
}: {
  node: string;
  installationId: string;
}) {
  const { t } = useTranslation("market");
  const format = useFormat();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MarketInstallationsQuery,
    variables: { node, first: 50, after: null, status: null },
    requestPolicy: "network-only",
  });
  const installation = data?.marketInstallations.edges
    .map((edge) => edge.node)
    .find((row) => row.id === installationId);
  const settled = installation ? isSettled(installation.status) : false;

  useEffect(() => {
    if (settled) return;
    const timer = window.setInterval(() => refetch({ requestPolicy: "network-only" }), POLL_MS);
    return () => window.clearInterval(timer);
  }, [settled, refetch]);

  const status: MarketInstallationState = installation?.status ?? "REQUESTED";
  const failed = status === "FAILED" || status === "DISABLED";
  const reached = INSTALLATION_STEPS.indexOf(status);
  const current = failed ? INSTALLATION_STEPS.length - 1 : Math.max(reached, 0);

  return (
    <Card
      size="small"
      title={t("follow.title", { node })}
      data-testid="installation-follow"
      extra={installation ? <InstallationTag status={installation.status} /> : null}
    >
      <QueryState
        fetching={fetching}
        error={error}
        hasData={!!installation}
        empty={t("follow.missing")}
      >
        {installation ? (
          <>
            <Steps
              current={current}
              status={failed ? "error" : status === "INSTALLED" ? "finish" : "process"}
              items={INSTALLATION_STEPS.map((step, index) => ({
                title:
                  failed && index === INSTALLATION_STEPS.length - 1
                    ? t(`installStatus.${status}`)
                    : t(`installStatus.${step}`),
                content: t(`follow.steps.${step}`),
              }))}
              style={{ marginBottom: 16 }}
            />
            <div aria-live="polite">
              {settled ? null : (
                <Typography.Paragraph type="secondary">{t("follow.waiting")}</Typography.Paragraph>
              )}
              {failed ? (
                <Alert
                  type="error"
                  showIcon
                  title={t(`installStatus.${status}`)}
                  description={installation.detail ?? ""}
                  style={{ marginBottom: 16 }}
                />
              ) : null}
            </div>
            <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 16 }}>
              <Descriptions.Item label={t("follow.node")}>
                <code>{installation.node}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("follow.pinned")}>
                {installation.pinned ? t("yes") : t("no")}
              </Descriptions.Item>
              <Descriptions.Item label={t("follow.id")}>
                <code>{installation.id}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("follow.updated")}>
                {format.dateTime(installation.updatedAt)}
              </Descriptions.Item>
            </Descriptions>
            <Timeline
              items={installation.history.map((step) => ({
                key: `${step.status}-${step.at}`,
                content: (
                  <>
                    <InstallationTag status={step.status} /> {format.dateTime(step.at)} · {step.by}
                    {step.why ? (
                      <Typography.Text type="secondary"> — {step.why}</Typography.Text>
                    ) : null}
                  </>
                ),
              }))}
            />
          </>
        ) : null}
      </QueryState>
    </Card>
  );
}
