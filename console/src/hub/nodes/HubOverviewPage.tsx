import { Alert, Card, Col, List, Row, Space, Statistic, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { type ReactNode, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { HubNodeCountQuery, HubNodesQuery } from "./documents";
import { LatestEvent, RecentEvents, Region, StatusTag, When } from "./NodeBits";
import { byIndustry, byRegion, needingAttention, type Tally } from "./nodes";
import { type LiveContext, useLiveNodes } from "./useNodeEvents";

const PAGE = 100;

function CountCard({
  title,
  status,
  testId,
  context,
}: {
  title: string;
  status: "ONLINE" | "OFFLINE" | null;
  testId: string;
  context: LiveContext;
}) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({
    query: HubNodeCountQuery,
    variables: { filter: status ? { status } : null },
    context,
  });
  const total = data?.regionalNodes.totalCount;
  return (
    <Card>
      {error && total === undefined ? (
        <ErrorNotice error={error} title={title} />
      ) : (
        <Statistic
          title={title}
          loading={fetching && total === undefined}
          value={
            total === null || total === undefined ? t("overview.unknown") : format.number(total)
          }
          valueRender={(node) => <span data-testid={testId}>{node}</span>}
        />
      )}
    </Card>
  );
}

function TallyTable({
  rows,
  label,
  render,
  testId,
}: {
  rows: Tally[];
  label: string;
  render: (key: string) => ReactNode;
  testId: string;
}) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  const columns: ColumnsType<Tally> = [
    { title: label, dataIndex: "key", render: (key: string) => render(key) },
    {
      title: t("overview.total"),
      dataIndex: "total",
      align: "right",
      render: (value: number) => format.number(value),
    },
    {
      title: t("status.ONLINE"),
      dataIndex: "online",
      align: "right",
      render: (value: number) => format.number(value),
    },
    {
      title: t("status.OFFLINE"),
      dataIndex: "offline",
      align: "right",
      render: (value: number) =>
        value > 0 ? (
          <Typography.Text type="danger">{format.number(value)}</Typography.Text>
        ) : (
          format.number(value)
        ),
    },
  ];
  return (
    <Table<Tally>
      data-testid={testId}
      size="small"
      rowKey="key"
      columns={columns}
      dataSource={rows}
      pagination={false}
    />
  );
}

export default function HubOverviewPage() {
  const { t } = useTranslation("nodes");
  const { context, latest, recent, apply } = useLiveNodes();
  const [{ data, fetching, error }] = useQuery({
    query: HubNodesQuery,
    variables: { first: PAGE, after: null, filter: null },
    context,
  });
  const nodes = useMemo(
    () => apply(data?.regionalNodes.edges.map((edge) => edge.node) ?? []),
    [data, apply],
  );
  const attention = needingAttention(nodes);

  return (
    <>
      <Space align="baseline" wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2}>{t("overview.title")}</Typography.Title>
        <LatestEvent event={latest} />
      </Space>
      <Row gutter={[16, 16]}>
        <Col xs={24} md={8}>
          <CountCard title={t("overview.all")} status={null} testId="count-all" context={context} />
        </Col>
        <Col xs={24} md={8}>
          <CountCard
            title={t("status.ONLINE")}
            status="ONLINE"
            testId="count-online"
            context={context}
          />
        </Col>
        <Col xs={24} md={8}>
          <CountCard
            title={t("status.OFFLINE")}
            status="OFFLINE"
            testId="count-offline"
            context={context}
          />
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("overview.attention")}</h3>}>
            <QueryState fetching={fetching} error={error} hasData={!!data}>
              {attention.length === 0 ? (
                <Alert type="success" showIcon title={t("overview.allOnline")} />
              ) : (
                <List
                  data-testid="attention"
                  dataSource={attention}
                  renderItem={(node) => (
                    <List.Item>
                      <Space wrap>
                        <StatusTag status={node.status} />
                        <Link to={`/nodes/${encodeURIComponent(node.name)}`}>{node.name}</Link>
                        <Region code={node.region} />
                        <span>
                          {t("overview.silentSince")} <When value={node.lastHeartbeat} />
                        </span>
                      </Space>
                    </List.Item>
                  )}
                />
              )}
            </QueryState>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("overview.recent")}</h3>}>
            <RecentEvents events={recent} />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("overview.byRegion")}</h3>}>
            <QueryState
              fetching={fetching}
              error={error}
              hasData={nodes.length > 0}
              empty={t("list.none")}
            >
              <TallyTable
                testId="by-region"
                rows={byRegion(nodes)}
                label={t("fields.region")}
                render={(key) => (
                  <Link to={`/nodes?region=${encodeURIComponent(key)}`}>
                    <Region code={key} />
                  </Link>
                )}
              />
            </QueryState>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("overview.byIndustry")}</h3>}>
            <QueryState
              fetching={fetching}
              error={error}
              hasData={nodes.length > 0}
              empty={t("list.none")}
            >
              <TallyTable
                testId="by-industry"
                rows={byIndustry(nodes)}
                label={t("fields.industry")}
                render={(key) => (
                  <Link to={`/nodes?industry=${encodeURIComponent(key)}`}>{key}</Link>
                )}
              />
            </QueryState>
          </Card>
        </Col>
        {data?.regionalNodes.pageInfo.hasNextPage ? (
          <Col xs={24}>
            <Typography.Text type="secondary">
              {t("overview.firstOnly", { count: nodes.length })}
            </Typography.Text>
          </Col>
        ) : null}
      </Row>
    </>
  );
}
