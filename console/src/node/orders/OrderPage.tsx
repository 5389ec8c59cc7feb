import { Badge, Card, Descriptions, Flex, Space, Typography } from "antd";
import { useCallback, useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery, useSubscription } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { AllocationChart } from "./AllocationChart";
import { BreakdownForm } from "./BreakdownForm";
import { OrderDetailDocument, OrderProgressDocument, OrderReasoningDocument } from "./documents";
import { PlanReasoning, ReplanEffectView } from "./PlanReasoning";
import { StageTag } from "./StageTag";
import { StageTimeline } from "./StageTimeline";
import { orderLookup } from "./shaping";
import { WorkOrdersTable } from "./WorkOrdersTable";

const cardTitle = (text: string) => <h3 style={{ margin: 0, fontSize: 16 }}>{text}</h3>;

export default function OrderPage() {
  const { t } = useTranslation("orders");
  const format = useFormat();
  const viewer = useViewer();
  const { id: param = "" } = useParams();
  const lookup = useMemo(() => orderLookup(param), [param]);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: OrderDetailDocument,
    variables: lookup,
  });
  const order = data?.order;
  const mayPlan = viewer.can.planOrders === true;
  const [reasoning, refetchReasoning] = useQuery({
    query: OrderReasoningDocument,
    variables: { id: order?.id ?? "" },
    pause: !order?.plan || !mayPlan,
  });

  // Live: each event of the order (planned, dispatched, a work report, a stage) reads it again.
  const [live] = useSubscription(
    { query: OrderProgressDocument, variables: { orderId: order?.id ?? "" }, pause: !order },
    (count: number | undefined) => (count ?? 0) + 1,
  );
  const events = live.data ?? 0;
  const reload = useCallback(() => {
    refetch({ requestPolicy: "network-only" });
    if (mayPlan) refetchReasoning({ requestPolicy: "network-only" });
  }, [refetch, refetchReasoning, mayPlan]);
  useEffect(() => {
    if (events > 0) reload();
  }, [events, reload]);

  const names = useMemo(() => {
    const bySlug = new Map<string, string>();
    for (const a of order?.plan?.allocations ?? []) bySlug.set(a.factory.slug, a.factory.name);
    for (const w of order?.workOrders ?? []) bySlug.set(w.factory.slug, w.factory.name);
    return bySlug;
  }, [order]);
  const factoryName = useCallback((slug: string) => names.get(slug) ?? slug, [names]);
  const plan = reasoning.data?.order.plan;

  return (
    <>
      <Typography.Paragraph>
        <Link to="/orders">{t("detail.back")}</Link>
      </Typography.Paragraph>
      <QueryState fetching={fetching} error={error} hasData={!!order} rows={8}>
        {order ? (
          <Space orientation="vertical" size={16} style={{ width: "100%" }}>
            <Flex align="center" gap={12} wrap>
              <Typography.Title level={2} style={{ margin: 0 }} data-testid="order-number">
                {t("detail.title", { number: order.number })}
              </Typography.Title>
              <StageTag stage={order.stage} status={order.status} />
              <Badge
                status={
                  live.error ? "error" : live.fetching || events > 0 ? "processing" : "default"
                }
                text={live.error ? t("detail.liveError") : t("detail.live")}
              />
            </Flex>
            <Card title={cardTitle(t("detail.summary"))}>
              <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }}>
                <Descriptions.Item label={t("fields.buyer")}>{order.buyerOrg}</Descriptions.Item>
                <Descriptions.Item label={t("fields.buyerReference")}>
                  {order.buyerReference ?? "—"}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.product")}>
                  {order.product} ({order.routing.name}, v{order.routing.version})
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.quantity")}>
                  {format.number(order.quantity)} {order.routing.unit}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.dailyTarget")}>
                  {format.number(order.dailyTarget)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.rampDays")}>
                  {format.number(order.rampDays)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.startDate")}>
                  {format.date(order.startDate)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.dueDate")}>
                  {format.date(order.dueDate)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.createdAt")}>
                  {format.dateTime(order.createdAt)}
                </Descriptions.Item>
                {order.note ? (
                  <Descriptions.Item label={t("fields.note")}>{order.note}</Descriptions.Item>
                ) : null}
              </Descriptions>
            </Card>
            <Card title={cardTitle(t("timeline.title"))}>
              <StageTimeline stage={order.stage} progress={order.progress} />
            </Card>
            <Card
              title={cardTitle(t("plan.title"))}
              extra={
                order.plan ? (
                  <Typography.Text type="secondary">
                    {t("plan.version", {
                      version: order.plan.version,
                      status: order.plan.status,
                      at: format.dateTime(order.plan.createdAt),
                    })}
                  </Typography.Text>
                ) : null
              }
            >
              {order.plan ? (
                <AllocationChart allocations={order.plan.allocations} />
              ) : (
                <Typography.Text type="secondary">{t("plan.none")}</Typography.Text>
              )}
            </Card>
            {order.plan && mayPlan ? (
              <Card title={cardTitle(t("reasoning.title"))}>
                <QueryState fetching={reasoning.fetching} error={reasoning.error} hasData={!!plan}>
                  {plan ? (
                    <PlanReasoning reasoning={plan.reasoning} factoryName={factoryName} />
                  ) : null}
                </QueryState>
              </Card>
            ) : null}
            {plan?.replanEffect ? (
              <Card
                title={cardTitle(t("replan.title"))}
                extra={<Typography.Text type="secondary">{plan.reason}</Typography.Text>}
              >
                <ReplanEffectView effect={plan.replanEffect} factoryName={factoryName} />
              </Card>
            ) : null}
            <Card title={cardTitle(t("workOrders.title"))}>
              {order.workOrders.length > 0 ? (
                <WorkOrdersTable workOrders={order.workOrders} />
              ) : (
                <Typography.Text type="secondary">{t("workOrders.none")}</Typography.Text>
              )}
            </Card>
            {viewer.can.reportWork === true &&
            order.workOrders.length > 0 &&
            order.status === "OPEN" ? (
              <Card title={cardTitle(t("breakdown.title"))}>
                <Typography.Paragraph type="secondary">{t("breakdown.help")}</Typography.Paragraph>
                <BreakdownForm workOrders={order.workOrders} onReported={reload} />
              </Card>
            ) : null}
          </Space>
        ) : null}
      </QueryState>
    </>
  );
}
