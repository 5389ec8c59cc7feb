import { Card, Col, Descriptions, Row, Statistic, Tag, Typography } from "antd";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";

const NodeQuery = graphql(`
  query OverviewNode {
    node {
      name
      region
      industry
      publicUrl
      hubLink {
        status
        hubUrl
        attempts
        lastError
        lastHeartbeatAt
        registeredAt
        nextAttemptAt
      }
    }
  }
`);

const FactoriesCount = graphql(`
  query OverviewFactoriesCount {
    factories(first: 1) {
      totalCount
    }
  }
`);

const OpenAlertsCount = graphql(`
  query OverviewOpenAlertsCount {
    alerts(filter: { status: [OPEN] }, first: 1) {
      totalCount
    }
  }
`);

const OrdersCount = graphql(`
  query OverviewOrdersCount {
    orders(first: 1) {
      totalCount
    }
  }
`);

const LINK_COLORS: Record<string, string> = {
  ONLINE: "success",
  CONNECTING: "processing",
  RETRYING: "warning",
  STOPPED: "default",
};

/** One count, asked on its own: a refusal of one (the caller may not read orders) leaves the others. */
function CountCard({
  title,
  total,
  fetching,
  error,
}: {
  title: string;
  total: number | null | undefined;
  fetching: boolean;
  error: CombinedError | undefined;
}) {
  const { t } = useTranslation("overview");
  const format = useFormat();
  let body: ReactNode;
  if (error && total === undefined) {
    body = <ErrorNotice error={error} title={title} />;
  } else {
    body = (
      <Statistic
        title={title}
        loading={fetching && total === undefined}
        value={total === null || total === undefined ? t("counts.unknown") : format.number(total)}
      />
    );
  }
  return <Card>{body}</Card>;
}

export default function OverviewPage() {
  const { t } = useTranslation("overview");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({ query: NodeQuery });
  const [factories] = useQuery({ query: FactoriesCount });
  const [alerts] = useQuery({ query: OpenAlertsCount });
  const [orders] = useQuery({ query: OrdersCount });
  const node = data?.node;
  const link = node?.hubLink;

  return (
    <>
      <Typography.Title level={2}>{t("title")}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("node.title")}</h3>}>
            <QueryState fetching={fetching} error={error} hasData={!!node}>
              <Descriptions column={1} size="small">
                <Descriptions.Item label={t("node.name")}>
                  <span data-testid="overview-node-name">{node?.name}</span>
                </Descriptions.Item>
                <Descriptions.Item label={t("node.region")}>{node?.region}</Descriptions.Item>
                <Descriptions.Item label={t("node.industry")}>{node?.industry}</Descriptions.Item>
                <Descriptions.Item label={t("node.publicUrl")}>{node?.publicUrl}</Descriptions.Item>
              </Descriptions>
            </QueryState>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("hubLink.title")}</h3>}>
            <QueryState fetching={fetching} error={error} hasData={!!link}>
              {link ? (
                <Descriptions column={1} size="small">
                  <Descriptions.Item label={t("hubLink.status")}>
                    <Tag color={LINK_COLORS[link.status]} data-testid="hub-link-status">
                      {t(`hubLink.states.${link.status}`)}
                    </Tag>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("hubLink.hubUrl")}>{link.hubUrl}</Descriptions.Item>
                  <Descriptions.Item label={t("hubLink.registeredAt")}>
                    {format.dateTime(link.registeredAt)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("hubLink.lastHeartbeatAt")}>
                    {format.relative(link.lastHeartbeatAt)}
                  </Descriptions.Item>
                  {link.attempts > 0 ? (
                    <>
                      <Descriptions.Item label={t("hubLink.attempts")}>
                        {format.number(link.attempts)}
                      </Descriptions.Item>
                      <Descriptions.Item label={t("hubLink.nextAttemptAt")}>
                        {format.relative(link.nextAttemptAt)}
                      </Descriptions.Item>
                      <Descriptions.Item label={t("hubLink.lastError")}>
                        {link.lastError ?? "—"}
                      </Descriptions.Item>
                    </>
                  ) : null}
                </Descriptions>
              ) : null}
            </QueryState>
          </Card>
        </Col>
      </Row>
      <Typography.Title level={3} style={{ marginTop: 24 }}>
        {t("counts.title")}
      </Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} md={8}>
          <CountCard
            title={t("counts.factories")}
            total={factories.data?.factories.totalCount}
            fetching={factories.fetching}
            error={factories.error}
          />
        </Col>
        <Col xs={24} md={8}>
          <CountCard
            title={t("counts.openAlerts")}
            total={alerts.data?.alerts.totalCount}
            fetching={alerts.fetching}
            error={alerts.error}
          />
        </Col>
        <Col xs={24} md={8}>
          <CountCard
            title={t("counts.orders")}
            total={orders.data?.orders.totalCount}
            fetching={orders.fetching}
            error={orders.error}
          />
        </Col>
      </Row>
    </>
  );
}
