import { Alert, Button, Card, Select, Space, Table, Tag, Tooltip, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useConfirmedMutation } from "../../components/useConfirmedMutation";
import { graphql } from "../../gql/node";
import type {
  AcceptProposalsMutation,
  ProductionProposalsQuery,
  ProposalStatus,
} from "../../gql/node/graphql";
import { DemandNav } from "./DemandNav";
import { PlanEffect } from "./PlanEffect";
import { lotsOf, selectable } from "./shaping";
import { useBrand } from "./useBrand";

const LatestPlanDocument = graphql(`
  query LatestDemandPlan($brand: String) {
    demandPlans(brand: $brand, first: 1) {
      edges {
        node {
          id
          asOf
          frozenUntil
          createdAt
          createdBy
          effect {
            firstPlan
            unitsBefore
            unitsAfter
            keptFrozen
            moves {
              sku
              week
              before
              after
              change
              frozen
            }
          }
        }
      }
    }
  }
`);

const PlanProductionDocument = graphql(`
  mutation PlanProduction($brand: String) {
    planProduction(brand: $brand) {
      __typename
      ... on PlanProductionSuccess {
        plan {
          id
        }
        autoAccepted {
          quantity
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

const ProductionProposalsDocument = graphql(`
  query ProductionProposals($brand: String, $status: ProposalStatus, $after: String) {
    productionProposals(brand: $brand, status: $status, first: 50, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          productId
          variant
          week
          release
          leadTimeDays
          quantity
          requirement
          demand
          safety
          stock
          frozen
          late
          status
          sku {
            id
            code
            product {
              id
              slug
            }
          }
          order {
            id
            number
            stage
          }
        }
      }
    }
  }
`);

const AcceptProposalsDocument = graphql(`
  mutation AcceptProposals($ids: [UUID!]!) {
    acceptProposals(ids: $ids) {
      __typename
      ... on AcceptProposalsSuccess {
        lots {
          product
          variant
          week
          quantity
          planned
          problem
          order {
            id
            number
            stage
          }
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

type Proposal = ProductionProposalsQuery["productionProposals"]["edges"][number]["node"];
type Lot = Extract<
  AcceptProposalsMutation["acceptProposals"],
  { __typename: "AcceptProposalsSuccess" }
>["lots"][number];

const STATUSES: ProposalStatus[] = ["PROPOSED", "ACCEPTED", "REJECTED", "SUPERSEDED"];
const ALL = "ALL";

interface Refusal {
  code: string;
  message: string;
}

function RefusalNotice({ refusal, title }: { refusal: Refusal; title: string }) {
  return (
    <Alert
      type="error"
      showIcon
      data-testid="demand-refusal"
      title={title}
      description={
        <>
          {refusal.message} <code>{refusal.code}</code>
        </>
      }
    />
  );
}

function LotsTable({ lots }: { lots: readonly Lot[] }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  return (
    <Table<Lot>
      data-testid="accepted-lots"
      rowKey={(lot) => `${lot.product}-${lot.variant}-${lot.week}`}
      size="small"
      pagination={false}
      dataSource={[...lots]}
      columns={[
        {
          title: t("plan.order"),
          key: "order",
          render: (_: unknown, lot) =>
            lot.order ? <Link to={`/orders/${lot.order.number}`}>{lot.order.number}</Link> : "—",
        },
        { title: t("plan.product"), dataIndex: "product" },
        {
          title: t("plan.variant"),
          dataIndex: "variant",
          render: (v: string) => v || t("plan.base"),
        },
        { title: t("plan.week"), dataIndex: "week", render: (v: string) => format.date(v) },
        {
          title: t("plan.quantity"),
          dataIndex: "quantity",
          align: "right",
          render: (v: number) => format.number(v),
        },
        {
          title: t("plan.planned"),
          key: "planned",
          render: (_: unknown, lot) =>
            lot.planned ? (
              <Tag color="success">{t("plan.plannedYes")}</Tag>
            ) : (
              <Tooltip title={lot.problem ?? ""}>
                <Tag color="warning">{t("plan.plannedNo")}</Tag>
                <Typography.Text type="secondary">{lot.problem}</Typography.Text>
              </Tooltip>
            ),
        },
      ]}
    />
  );
}

export default function PlanPage() {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const viewer = useViewer();
  const picker = useBrand();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get("status");
  const status: ProposalStatus | null =
    statusParam === ALL
      ? null
      : STATUSES.includes(statusParam as ProposalStatus)
        ? (statusParam as ProposalStatus)
        : "PROPOSED";
  const pages = useCursorPages();
  const paused = picker.fetching && picker.brands.length === 0;
  const [latest, refreshLatest] = useQuery({
    query: LatestPlanDocument,
    variables: { brand: picker.brand },
    pause: paused,
  });
  const [proposals, refreshProposals] = useQuery({
    query: ProductionProposalsDocument,
    variables: { brand: picker.brand, status, after: pages.after },
    pause: paused,
  });
  const [planning, plan] = useMutation(PlanProductionDocument);
  const [, accept] = useMutation(AcceptProposalsDocument);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [lots, setLots] = useState<Lot[] | null>(null);
  const confirm = useConfirmedMutation(t("plan.cancel"), setFailure);

  const rows = proposals.data?.productionProposals.edges.map((edge) => edge.node) ?? [];
  const chosen = useMemo(() => rows.filter((row) => selected.includes(row.id)), [rows, selected]);
  const planNode = latest.data?.demandPlans.edges[0]?.node ?? null;
  // Accepting places and plans orders: the node operator's, as planning orders is.
  const mayAccept = viewer.can.planOrders !== false;

  const refresh = () => {
    refreshLatest({ requestPolicy: "network-only" });
    refreshProposals({ requestPolicy: "network-only" });
  };

  const runPlan = async () => {
    setRefusal(null);
    setFailure(null);
    setLots(null);
    const result = await plan({ brand: picker.brand });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.planProduction;
    if (answer && "code" in answer)
      return setRefusal({ code: answer.code, message: answer.message });
    pages.reset();
    setSelected([]);
    refresh();
  };

  const acceptSelected = () => {
    const { lots: count, units } = lotsOf(chosen);
    setRefusal(null);
    setFailure(null);
    confirm({
      title: t("plan.acceptTitle", { count: chosen.length }),
      content: t("plan.acceptContent", { lots: count, units: format.number(units) }),
      okText: t("plan.acceptOk"),
      run: () => accept({ ids: chosen.map((p) => p.id) }),
      onSuccess: (result) => {
        const answer = result.data?.acceptProposals;
        if (answer?.__typename === "AcceptProposalsSuccess") {
          setLots(answer.lots);
          setSelected([]);
          refresh();
        } else if (answer && "code" in answer) {
          setRefusal({ code: answer.code, message: answer.message });
        }
      },
    });
  };

  const setStatus = (value: string) => {
    const next = new URLSearchParams(params);
    next.set("status", value);
    setParams(next);
    pages.reset();
    setSelected([]);
  };

  return (
    <>
      <Typography.Title level={2}>{t("plan.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("plan.latest")}</h3>}>
          <Space wrap style={{ marginBottom: 16 }}>
            <Button type="primary" onClick={runPlan} loading={planning.fetching}>
              {t("plan.run")}
            </Button>
            <Typography.Text type="secondary">{t("plan.runHelp")}</Typography.Text>
          </Space>
          {refusal ? (
            <div style={{ marginBottom: 16 }}>
              <RefusalNotice refusal={refusal} title={t("plan.refused")} />
            </div>
          ) : null}
          {failure ? (
            <div style={{ marginBottom: 16 }}>
              <ErrorNotice error={failure} title={t("plan.refused")} />
            </div>
          ) : null}
          <QueryState
            fetching={latest.fetching}
            error={latest.error}
            hasData={planNode !== null}
            empty={t("plan.none")}
          >
            {planNode ? (
              <>
                <Typography.Paragraph>
                  {t("plan.made", {
                    at: format.dateTime(planNode.createdAt),
                    by: planNode.createdBy,
                    asOf: format.date(planNode.asOf),
                    frozen: format.date(planNode.frozenUntil),
                  })}
                </Typography.Paragraph>
                <PlanEffect effect={planNode.effect} />
              </>
            ) : null}
          </QueryState>
        </Card>
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("plan.proposals")}</h3>}>
          <Space wrap style={{ marginBottom: 16 }}>
            <Typography.Text id="demand-status-label">{t("plan.status")}</Typography.Text>
            <Select
              aria-labelledby="demand-status-label"
              value={status ?? ALL}
              onChange={setStatus}
              style={{ width: 200 }}
              options={[
                { value: ALL, label: t("plan.allStatuses") },
                ...STATUSES.map((s) => ({ value: s, label: t(`plan.statuses.${s}`) })),
              ]}
            />
            {proposals.data?.productionProposals.totalCount !== null &&
            proposals.data?.productionProposals.totalCount !== undefined ? (
              <Typography.Text type="secondary">
                {t("plan.total", { count: proposals.data.productionProposals.totalCount })}
              </Typography.Text>
            ) : null}
            {mayAccept ? (
              <Button
                type="primary"
                disabled={chosen.length === 0}
                onClick={acceptSelected}
                data-testid="accept-proposals"
              >
                {t("plan.accept", { count: chosen.length })}
              </Button>
            ) : (
              <Typography.Text type="secondary">{t("plan.operatorAccepts")}</Typography.Text>
            )}
          </Space>
          {lots ? (
            <div style={{ marginBottom: 16 }}>
              <Alert
                type="success"
                showIcon
                role="status"
                title={t("plan.accepted", { count: lots.length })}
                style={{ marginBottom: 8 }}
              />
              <LotsTable lots={lots} />
            </div>
          ) : null}
          <QueryState
            fetching={proposals.fetching}
            error={proposals.error}
            hasData={rows.length > 0}
            empty={t("plan.noProposals")}
          >
            <Table<Proposal>
              data-testid="proposals"
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={rows}
              rowSelection={
                mayAccept
                  ? {
                      selectedRowKeys: selected,
                      onChange: (keys) => setSelected(keys.map(String)),
                      getCheckboxProps: (row) => ({
                        disabled: !selectable(row),
                        "aria-label": t("plan.select", { sku: row.sku.code, week: row.week }),
                      }),
                      columnTitle: (
                        <span className="ant-visually-hidden">{t("plan.selectAll")}</span>
                      ),
                      hideSelectAll: true,
                    }
                  : undefined
              }
              columns={[
                {
                  title: t("plan.sku"),
                  key: "sku",
                  render: (_: unknown, p) => (
                    <>
                      {p.sku.code}{" "}
                      <Typography.Text type="secondary">{p.sku.product.slug}</Typography.Text>
                    </>
                  ),
                },
                {
                  title: t("plan.variant"),
                  dataIndex: "variant",
                  render: (v: string) => v || t("plan.base"),
                },
                { title: t("plan.week"), dataIndex: "week", render: (v: string) => format.date(v) },
                {
                  title: t("plan.release"),
                  key: "release",
                  render: (_: unknown, p) => (
                    <>
                      {format.date(p.release)}{" "}
                      {p.late ? <Tag color="error">{t("plan.late")}</Tag> : null}
                    </>
                  ),
                },
                {
                  title: t("plan.quantity"),
                  dataIndex: "quantity",
                  align: "right",
                  render: (v: number) => format.number(v),
                },
                {
                  title: t("plan.workedOut"),
                  key: "why",
                  render: (_: unknown, p) =>
                    t("plan.why", {
                      demand: format.number(p.demand, { maximumFractionDigits: 0 }),
                      safety: format.number(p.safety, { maximumFractionDigits: 0 }),
                      stock: format.number(p.stock, { maximumFractionDigits: 0 }),
                      requirement: format.number(p.requirement, { maximumFractionDigits: 0 }),
                    }),
                },
                {
                  title: t("plan.leadTime"),
                  dataIndex: "leadTimeDays",
                  align: "right",
                  render: (v: number) => t("plan.days", { count: v }),
                },
                {
                  title: t("plan.statusColumn"),
                  key: "status",
                  render: (_: unknown, p) => (
                    <>
                      <Tag>{t(`plan.statuses.${p.status}`)}</Tag>
                      {p.frozen ? <Tag color="processing">{t("plan.frozen")}</Tag> : null}
                      {p.order ? (
                        <Link to={`/orders/${p.order.number}`}>{p.order.number}</Link>
                      ) : null}
                    </>
                  ),
                },
              ]}
            />
          </QueryState>
          <CursorPager pages={pages} pageInfo={proposals.data?.productionProposals.pageInfo} />
        </Card>
      </Space>
    </>
  );
}
