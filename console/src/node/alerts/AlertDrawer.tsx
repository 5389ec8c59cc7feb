import { Descriptions, Drawer, Empty, Tag, Timeline, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { AlertActions } from "./AlertActions";
import { SEVERITY_COLORS, STATUS_COLORS } from "./AlertsNav";

const AlertDetail = graphql(`
  query AlertDetail($id: UUID!) {
    alert(id: $id) {
      ...AlertFields
    }
  }
`);

const AlertHistory = graphql(`
  query AlertNotifications($id: UUID!) {
    alertNotifications(alertId: $id, first: 50) {
      edges {
        node {
          id
          contactPointId
          event
          status
          attempts
          lastError
          createdAt
          deliveredAt
        }
      }
    }
  }
`);

const AlertDevice = graphql(`
  query AlertDevice($id: UUID!) {
    device(id: $id) {
      id
      key
      name
    }
  }
`);

const NOTIFICATION_COLORS: Record<string, string> = {
  DELIVERED: "green",
  FAILED: "red",
  PENDING: "blue",
  SILENCED: "gray",
};

interface Step {
  at: string;
  key: string;
  color: string;
  text: string;
}

/** One alert with its history: opened, escalated, acknowledged, closed, and every notification. */
export function AlertDrawer({
  id,
  factoryName,
  onClose,
  onChanged,
}: {
  id: string | null;
  factoryName: (id: string) => string;
  onClose: () => void;
  onChanged: () => void;
}) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: AlertDetail,
    variables: { id: id ?? "" },
    pause: !id,
  });
  const [history] = useQuery({ query: AlertHistory, variables: { id: id ?? "" }, pause: !id });
  const alert = data?.alert;
  const [device] = useQuery({
    query: AlertDevice,
    variables: { id: alert?.deviceId ?? "" },
    pause: !alert,
  });

  const steps: Step[] = [];
  if (alert) {
    steps.push({
      at: alert.openedAt,
      key: "opened",
      color: "red",
      text: t("history.opened", { value: format.number(alert.value) }),
    });
    if (alert.escalatedAt)
      steps.push({
        at: alert.escalatedAt,
        key: "escalated",
        color: "orange",
        text: t("history.escalated"),
      });
    if (alert.acknowledgedAt)
      steps.push({
        at: alert.acknowledgedAt,
        key: "acknowledged",
        color: "blue",
        text:
          t("history.acknowledged", { who: alert.acknowledgedBy ?? "—" }) +
          (alert.acknowledgeNote ? ` — ${alert.acknowledgeNote}` : ""),
      });
    if (alert.closedAt)
      steps.push({
        at: alert.closedAt,
        key: "closed",
        color: "green",
        text:
          t("history.closed", { who: alert.closedBy ?? "—" }) +
          (alert.closeReason ? ` — ${alert.closeReason}` : ""),
      });
  }
  for (const { node } of history.data?.alertNotifications.edges ?? []) {
    steps.push({
      at: node.deliveredAt ?? node.createdAt,
      key: node.id,
      color: NOTIFICATION_COLORS[node.status] ?? "gray",
      text:
        t("history.notification", {
          event: t(`notificationEvent.${node.event}`),
          status: t(`notificationStatus.${node.status}`),
          attempts: node.attempts,
        }) + (node.lastError ? ` — ${node.lastError}` : ""),
    });
  }
  steps.sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime());

  const deviceLabel = device.data?.device
    ? `${device.data.device.name} (${device.data.device.key})`
    : alert?.deviceId;

  return (
    <Drawer
      open={id !== null}
      onClose={onClose}
      size={560}
      title={t("detail.title")}
      closable={{ "aria-label": t("detail.close") }}
      destroyOnHidden
    >
      <QueryState fetching={fetching} error={error} hasData={!!alert} rows={8}>
        {alert ? (
          <div data-testid="alert-detail">
            <Typography.Paragraph strong>{alert.message}</Typography.Paragraph>
            <div style={{ marginBottom: 16 }}>
              <AlertActions
                alert={alert}
                size="middle"
                onDone={() => {
                  refetch({ requestPolicy: "network-only" });
                  onChanged();
                }}
              />
            </div>
            <Descriptions column={1} size="small" bordered>
              <Descriptions.Item label={t("fields.status")}>
                <Tag color={STATUS_COLORS[alert.status]} data-testid="alert-detail-status">
                  {t(`status.${alert.status}`)}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.severity")}>
                <Tag color={SEVERITY_COLORS[alert.severity]}>{t(`severity.${alert.severity}`)}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.metric")}>
                <code>{alert.metric}</code>
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.value")}>
                {format.number(alert.value)}
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.factory")}>
                {factoryName(alert.factoryId)}
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.device")}>{deviceLabel}</Descriptions.Item>
              <Descriptions.Item label={t("fields.rule")}>
                <Link to={`/alerts/rules?factory=${alert.factoryId}`}>{t("detail.rules")}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t("fields.openedAt")}>
                {format.dateTime(alert.openedAt)}
              </Descriptions.Item>
            </Descriptions>
            <Typography.Title level={4} style={{ marginTop: 24 }}>
              {t("history.title")}
            </Typography.Title>
            {steps.length ? (
              <Timeline
                items={steps.map((step) => ({
                  key: step.key,
                  color: step.color,
                  content: (
                    <>
                      <div>{step.text}</div>
                      <Typography.Text type="secondary">{format.dateTime(step.at)}</Typography.Text>
                    </>
                  ),
                }))}
              />
            ) : (
              <Empty />
            )}
          </div>
        ) : null}
      </QueryState>
    </Drawer>
  );
}
