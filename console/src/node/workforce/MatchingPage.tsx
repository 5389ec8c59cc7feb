import { Alert, Button, Card, Descriptions, Space, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { MatchWorkersMutation, WorkforceProposalsQuery } from "../../gql/node/graphql";
import { groupShortfalls, type ShortfallGroup } from "./shaping";
import { Refusal, WorkforceNav } from "./WorkforceNav";

const MatchWorkersDocument = graphql(`
  mutation MatchWorkers {
    matchWorkers {
      __typename
      ... on MatchWorkersSuccess {
        run {
          id
          method
          optimal
          workers
          needs
          demanded
          covered
          weightedCoverage
          kept
          elapsedS
          createdAt
          shortfalls(first: 100) {
            needId
            day
            shift
            wanted
            covered
            code
            reason
          }
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

export const WorkforceProposalsDocument = graphql(`
  query WorkforceProposals($status: WorkforceProposalStatus) {
    workforceProposals(status: $status, first: 100) {
      totalCount
      edges {
        node {
          id
          runId
          needId
          pseudonym
          employer
          factory
          status
          firstDay
          lastDay
          days {
            day
            shift
          }
          reason {
            skill
            level
            minLevel
            km
            radiusKm
            wage
            wageFloor
            priority
            text
          }
          employerAcceptedAt
          workerAcceptedAt
          workerAcceptedVia
        }
      }
    }
  }
`);

type Run = Extract<
  MatchWorkersMutation["matchWorkers"],
  { __typename: "MatchWorkersSuccess" }
>["run"];
export type Proposal = WorkforceProposalsQuery["workforceProposals"]["edges"][number]["node"];

/** The operator's matching: run it, see what it proposed and why, and what stays short. */
export default function MatchingPage() {
  const { t } = useTranslation("workforce");
  const format = useFormat();
  const [matching, match] = useMutation(MatchWorkersDocument);
  const [run, setRun] = useState<Run | null>(null);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [{ data, fetching, error }, refresh] = useQuery({
    query: WorkforceProposalsDocument,
    variables: { status: "PROPOSED" },
  });
  const proposals = (data?.workforceProposals.edges ?? [])
    .map((edge) => edge.node)
    .filter((p) => !run || p.runId === run.id);

  const start = async () => {
    setRefusal(null);
    setFailure(null);
    const result = await match({});
    if (result.error) return setFailure(result.error);
    const answer = result.data?.matchWorkers;
    if (answer?.__typename === "MatchWorkersSuccess") {
      setRun(answer.run);
      refresh({ requestPolicy: "network-only" });
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };

  return (
    <>
      <Typography.Title level={2}>{t("matching.title")}</Typography.Title>
      <WorkforceNav />
      <Typography.Paragraph type="secondary">{t("matching.intro")}</Typography.Paragraph>
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card>
          <Space orientation="vertical" style={{ width: "100%" }}>
            <Button
              type="primary"
              onClick={start}
              loading={matching.fetching}
              data-testid="workforce-match"
            >
              {t("matching.run")}
            </Button>
            <Refusal refusal={refusal} />
            {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
            {run ? (
              <Descriptions size="small" column={{ xs: 1, md: 3 }} data-testid="workforce-run">
                <Descriptions.Item label={t("matching.method")}>
                  {run.method} {run.optimal ? t("matching.optimal") : ""}
                </Descriptions.Item>
                <Descriptions.Item label={t("matching.sides")}>
                  {t("matching.sidesValue", { workers: run.workers, needs: run.needs })}
                </Descriptions.Item>
                <Descriptions.Item label={t("matching.coverage")}>
                  {t("matching.coverageValue", {
                    covered: run.covered,
                    demanded: run.demanded,
                    weighted: format.number(run.weightedCoverage * 100, {
                      maximumFractionDigits: 1,
                    }),
                  })}
                </Descriptions.Item>
                <Descriptions.Item label={t("matching.kept")}>{run.kept}</Descriptions.Item>
                <Descriptions.Item label={t("matching.elapsed")}>
                  {format.number(run.elapsedS, { maximumFractionDigits: 2 })} s
                </Descriptions.Item>
                <Descriptions.Item label={t("matching.at")}>
                  {format.dateTime(run.createdAt)}
                </Descriptions.Item>
              </Descriptions>
            ) : null}
          </Space>
        </Card>
        {run ? (
          <Card title={t("matching.shortfalls")}>
            <Table<ShortfallGroup>
              data-testid="workforce-shortfalls"
              rowKey={(g) => `${g.needId}-${g.code}`}
              size="small"
              pagination={false}
              dataSource={groupShortfalls(run.shortfalls)}
              locale={{ emptyText: t("matching.noShortfalls") }}
              columns={[
                {
                  title: t("matching.need"),
                  dataIndex: "needId",
                  render: (v: string) => <code>{v.slice(0, 8)}</code>,
                },
                {
                  title: t("needs.dates"),
                  key: "days",
                  render: (_: unknown, g) =>
                    `${format.date(g.firstDay)} – ${format.date(g.lastDay)}`,
                },
                { title: t("matching.missing"), dataIndex: "missing", align: "right" },
                {
                  title: t("matching.why"),
                  key: "why",
                  render: (_: unknown, g) => (
                    <>
                      {g.reason} <code>{g.code}</code>
                    </>
                  ),
                },
              ]}
            />
          </Card>
        ) : null}
        <Card title={t("matching.proposals")}>
          <QueryState
            fetching={fetching}
            error={error}
            hasData={proposals.length > 0}
            empty={t("matching.noProposals")}
          >
            <Table<Proposal>
              data-testid="workforce-match-proposals"
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={proposals}
              columns={[
                { title: t("field.pseudonym"), dataIndex: "pseudonym" },
                { title: t("pools.employer"), dataIndex: "employer" },
                { title: t("needs.factory"), dataIndex: "factory" },
                {
                  title: t("needs.dates"),
                  key: "dates",
                  render: (_: unknown, p) =>
                    t("proposals.span", {
                      from: format.date(p.firstDay),
                      to: format.date(p.lastDay),
                      count: p.days.length,
                    }),
                },
                {
                  title: t("matching.why"),
                  key: "reason",
                  render: (_: unknown, p) => p.reason.text,
                },
              ]}
            />
          </QueryState>
        </Card>
      </Space>
    </>
  );
}
