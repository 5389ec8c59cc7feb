import { Alert, Button, Card, Popconfirm, Select, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { WorkforceParty, WorkforceProposalStatus } from "../../gql/node/graphql";
import { FollowUp } from "./FollowUp";
import { type Proposal, WorkforceProposalsDocument } from "./MatchingPage";
import { awaiting, contactReleased } from "./shaping";
import { Refusal, WorkforceNav } from "./WorkforceNav";

const DecideDocument = graphql(`
  mutation DecideWorkforceProposal($id: UUID!, $party: WorkforceParty!, $accept: Boolean!) {
    decideWorkforceProposal(id: $id, party: $party, accept: $accept) {
      __typename
      ... on DecideWorkforceProposalSuccess {
        proposal {
          id
          status
          employerAcceptedAt
          workerAcceptedAt
          workerAcceptedVia
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const ContactDocument = graphql(`
  query WorkforceReleasedContact($proposalId: UUID!) {
    workforceContact(proposalId: $proposalId) {
      proposalId
      pseudonym
      name
      phone
      email
    }
  }
`);

const STATUSES: WorkforceProposalStatus[] = ["PROPOSED", "ACCEPTED", "DECLINED", "WITHDRAWN"];
// Status colours from the theme (src/app/theme.ts darkens them to meet contrast), not presets.
const STATUS_COLOUR: Record<WorkforceProposalStatus, string> = {
  PROPOSED: "processing",
  ACCEPTED: "success",
  DECLINED: "error",
  WITHDRAWN: "default",
};

/** The borrower's view of a released contact: asked for only once both sides accepted. */
function ReleasedContact({ proposalId }: { proposalId: string }) {
  const { t } = useTranslation("workforce");
  const [shown, setShown] = useState(false);
  const [{ data, error, fetching }] = useQuery({
    query: ContactDocument,
    variables: { proposalId },
    pause: !shown,
  });
  if (!shown) {
    return (
      <Button size="small" onClick={() => setShown(true)} data-testid={`contact-${proposalId}`}>
        {t("proposals.contact")}
      </Button>
    );
  }
  if (fetching) return <>…</>;
  if (error) {
    const code = error.graphQLErrors[0]?.extensions?.code;
    return (
      <Typography.Text type="danger">
        {error.graphQLErrors[0]?.message ?? error.message}{" "}
        {typeof code === "string" ? <code>{code}</code> : null}
      </Typography.Text>
    );
  }
  const contact = data?.workforceContact;
  return contact ? (
    <span data-testid={`released-${proposalId}`}>
      {contact.name} {contact.phone ?? ""} {contact.email ?? ""}
    </span>
  ) : null;
}

/**
 * Proposals: the employer accepts or declines for itself and records the worker's answer; the
 * borrowing factory sees the contact once both accepted.
 */
export default function ProposalsPage() {
  const { t } = useTranslation("workforce");
  const format = useFormat();
  const [status, setStatus] = useState<WorkforceProposalStatus | null>(null);
  const [{ data, fetching, error }, refresh] = useQuery({
    query: WorkforceProposalsDocument,
    variables: { status },
  });
  const [deciding, decide] = useMutation(DecideDocument);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [following, setFollowing] = useState<Proposal | null>(null);
  const rows = data?.workforceProposals.edges.map((edge) => edge.node) ?? [];

  const answer = async (id: string, party: WorkforceParty, accept: boolean) => {
    setRefusal(null);
    setFailure(null);
    const result = await decide({ id, party, accept });
    if (result.error) return setFailure(result.error);
    const outcome = result.data?.decideWorkforceProposal;
    if (outcome && "code" in outcome) setRefusal({ code: outcome.code, message: outcome.message });
    else refresh({ requestPolicy: "network-only" });
  };

  return (
    <>
      <Typography.Title level={2}>{t("proposals.title")}</Typography.Title>
      <WorkforceNav />
      <Typography.Paragraph type="secondary">{t("proposals.intro")}</Typography.Paragraph>
      <Card>
        <Space orientation="vertical" size={16} style={{ width: "100%" }}>
          <Space wrap>
            <Typography.Text id="workforce-status-label">{t("proposals.status")}</Typography.Text>
            <Select<WorkforceProposalStatus | null>
              aria-labelledby="workforce-status-label"
              value={status}
              onChange={setStatus}
              style={{ minWidth: 200 }}
              options={[
                { value: null, label: t("proposals.all") },
                ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
              ]}
            />
          </Space>
          <Refusal refusal={refusal} />
          {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
          <QueryState
            fetching={fetching}
            error={error}
            hasData={rows.length > 0}
            empty={t("proposals.empty")}
          >
            <Table<Proposal>
              data-testid="workforce-proposals"
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={rows}
              scroll={{ x: 1100 }}
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
                {
                  title: t("proposals.status"),
                  dataIndex: "status",
                  render: (value: WorkforceProposalStatus, p) => (
                    <Space orientation="vertical" size={0}>
                      <Tag color={STATUS_COLOUR[value]}>{t(`status.${value}`)}</Tag>
                      {p.employerAcceptedAt ? (
                        <Typography.Text type="secondary">
                          {t("proposals.employerAccepted", {
                            at: format.dateTime(p.employerAcceptedAt),
                          })}
                        </Typography.Text>
                      ) : null}
                      {p.workerAcceptedAt ? (
                        <Typography.Text type="secondary">
                          {t("proposals.workerAccepted", {
                            at: format.dateTime(p.workerAcceptedAt),
                            via: p.workerAcceptedVia ?? "—",
                          })}
                        </Typography.Text>
                      ) : null}
                    </Space>
                  ),
                },
                {
                  title: t("proposals.actions"),
                  key: "actions",
                  render: (_: unknown, p) => (
                    <Space orientation="vertical" size={4}>
                      {awaiting(p).map((party) => (
                        <Space key={party} size={4}>
                          <Button
                            size="small"
                            type="primary"
                            loading={deciding.fetching}
                            onClick={() => answer(p.id, party, true)}
                          >
                            {t(`proposals.accept.${party}`)}
                          </Button>
                          <Popconfirm
                            title={t(`proposals.declineConfirm.${party}`)}
                            onConfirm={() => answer(p.id, party, false)}
                          >
                            <Button size="small" danger>
                              {t(`proposals.decline.${party}`)}
                            </Button>
                          </Popconfirm>
                        </Space>
                      ))}
                      {contactReleased(p) ? <ReleasedContact proposalId={p.id} /> : null}
                      {p.status === "ACCEPTED" ? (
                        <Button size="small" onClick={() => setFollowing(p)}>
                          {t("followUp.open")}
                        </Button>
                      ) : null}
                    </Space>
                  ),
                },
              ]}
            />
          </QueryState>
        </Space>
      </Card>
      {following ? <FollowUp proposal={following} onClose={() => setFollowing(null)} /> : null}
    </>
  );
}
