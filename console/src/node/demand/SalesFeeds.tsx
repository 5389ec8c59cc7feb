import { Alert, Button, Card, Form, Input, InputNumber, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { SalesFeedsQuery } from "../../gql/node/graphql";
import {
  type FormProblem,
  feedSubscription,
  MAX_EVERY_MINUTES,
  MIN_EVERY_MINUTES,
} from "./editing";

const SalesFeedsDocument = graphql(`
  query SalesFeeds($brand: String) {
    salesFeeds(brand: $brand, first: 20) {
      edges {
        node {
          id
          productKey
          productTitle
          contractId
          status
          everyMinutes
          lastPullAt
          lastOutcome
          lastMessage
          lastRows
          lastAdded
          lastCorrected
        }
      }
    }
  }
`);

const SubscribeSalesFeedDocument = graphql(`
  mutation SubscribeSalesFeed($brand: String, $contractId: UUID!, $everyMinutes: Int) {
    subscribeSalesFeed(brand: $brand, contractId: $contractId, everyMinutes: $everyMinutes) {
      __typename
      ... on DemandError {
        code
        message
      }
    }
  }
`);

const PullSalesFeedDocument = graphql(`
  mutation PullSalesFeed($id: UUID!) {
    pullSalesFeed(id: $id) {
      __typename
      ... on PullSalesFeedSuccess {
        added
        corrected
        unchanged
      }
      ... on PullSalesFeedError {
        code
        message
        problems {
          row
          column
          message
        }
      }
    }
  }
`);

type Feed = SalesFeedsQuery["salesFeeds"]["edges"][number]["node"];

interface Notice {
  kind: "success" | "error";
  text: string;
  code?: string;
}

const OUTCOME_COLOURS: Record<string, string> = {
  ok: "success",
  refused: "error",
  invalid: "warning",
};

/** A brand's sales data products at the hub that the node takes in under an agreement: the
 * feeds, their last pull, a pull now, and a new subscription by the agreement's id. */
export function SalesFeeds({
  brand,
  onImported,
}: {
  brand: string | null;
  onImported: () => void;
}) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const viewer = useViewer();
  const [{ data, fetching, error }, refresh] = useQuery({
    query: SalesFeedsDocument,
    variables: { brand },
  });
  const [subscribing, subscribe] = useMutation(SubscribeSalesFeedDocument);
  const [pulling, pull] = useMutation(PullSalesFeedDocument);
  const [contractId, setContractId] = useState("");
  const [everyMinutes, setEveryMinutes] = useState<number | null>(null);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const feeds = data?.salesFeeds.edges.map((edge) => edge.node) ?? [];
  const mayChange = viewer.can.placeOrders !== false;

  const problem = (path: string) => {
    const found = problems.find((p) => p.path === path);
    return found ? t(`edit.errors.${found.key}`, found.values) : undefined;
  };

  const add = async () => {
    setNotice(null);
    setFailure(null);
    const { input, problems: found } = feedSubscription(contractId, everyMinutes);
    setProblems(found);
    if (!input) return;
    const result = await subscribe({ brand, ...input });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.subscribeSalesFeed;
    if (answer && "code" in answer) {
      return setNotice({ kind: "error", text: answer.message, code: answer.code });
    }
    setContractId("");
    setEveryMinutes(null);
    setNotice({ kind: "success", text: t("feeds.subscribed") });
    refresh({ requestPolicy: "network-only" });
  };

  const pullNow = async (feed: Feed) => {
    setNotice(null);
    setFailure(null);
    const result = await pull({ id: feed.id });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.pullSalesFeed;
    if (answer?.__typename === "PullSalesFeedSuccess") {
      setNotice({
        kind: "success",
        text: t("feeds.pulled", {
          added: format.number(answer.added),
          corrected: format.number(answer.corrected),
          unchanged: format.number(answer.unchanged),
        }),
      });
      onImported();
    } else if (answer?.__typename === "PullSalesFeedError") {
      const first = answer.problems[0];
      const where = first
        ? ` ${t("feeds.firstProblem", { row: first.row ?? "—", message: first.message })}`
        : "";
      setNotice({ kind: "error", text: `${answer.message}${where}`, code: answer.code });
    }
    refresh({ requestPolicy: "network-only" });
  };

  return (
    <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("feeds.title")}</h3>}>
      <Typography.Paragraph type="secondary">{t("feeds.help")}</Typography.Paragraph>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={feeds.length > 0}
        empty={t("feeds.empty")}
      >
        <Table<Feed>
          data-testid="sales-feeds"
          rowKey="id"
          size="small"
          pagination={false}
          dataSource={feeds}
          scroll={{ x: 800 }}
          columns={[
            {
              title: t("feeds.product"),
              key: "product",
              render: (_: unknown, feed) => (
                <span>
                  {feed.productTitle}{" "}
                  <Typography.Text type="secondary">({feed.productKey})</Typography.Text>
                </span>
              ),
            },
            {
              title: t("feeds.every"),
              dataIndex: "everyMinutes",
              render: (value: number | null) =>
                value === null ? t("feeds.onRequest") : t("feeds.minutes", { count: value }),
            },
            {
              title: t("feeds.lastPull"),
              key: "last",
              render: (_: unknown, feed) =>
                feed.lastOutcome ? (
                  <Space orientation="vertical" size={0}>
                    <span>
                      <Tag color={OUTCOME_COLOURS[feed.lastOutcome]}>
                        {t(`feeds.outcome.${feed.lastOutcome}`, { defaultValue: feed.lastOutcome })}
                      </Tag>
                      {format.dateTime(feed.lastPullAt)}
                    </span>
                    {feed.lastMessage ? (
                      <Typography.Text type="secondary">{feed.lastMessage}</Typography.Text>
                    ) : feed.lastRows !== null && feed.lastRows !== undefined ? (
                      <Typography.Text type="secondary">
                        {t("feeds.counts", {
                          rows: format.number(feed.lastRows),
                          added: format.number(feed.lastAdded ?? 0),
                          corrected: format.number(feed.lastCorrected ?? 0),
                        })}
                      </Typography.Text>
                    ) : null}
                  </Space>
                ) : (
                  t("feeds.never")
                ),
            },
            {
              title: t("feeds.actions"),
              key: "actions",
              render: (_: unknown, feed) =>
                mayChange && feed.status === "ACTIVE" ? (
                  <Button
                    size="small"
                    loading={pulling.fetching}
                    onClick={() => pullNow(feed)}
                    data-testid={`pull-${feed.productKey}`}
                  >
                    {t("feeds.pull")}
                  </Button>
                ) : (
                  t(`feeds.status.${feed.status}`)
                ),
            },
          ]}
        />
      </QueryState>
      {notice ? (
        <Alert
          style={{ marginTop: 16 }}
          type={notice.kind}
          showIcon
          data-testid="feed-notice"
          title={
            <>
              {notice.text} {notice.code ? <code>{notice.code}</code> : null}
            </>
          }
        />
      ) : null}
      {failure ? (
        <Alert style={{ marginTop: 16 }} type="error" showIcon title={failure.message} />
      ) : null}
      {mayChange ? (
        <Form
          layout="vertical"
          onFinish={add}
          style={{ marginTop: 16 }}
          data-testid="sales-feeds-form"
        >
          <Space wrap align="start">
            <Form.Item
              label={t("feeds.contractId")}
              htmlFor="feed-contract"
              validateStatus={problem("contractId") ? "error" : undefined}
              help={problem("contractId") ?? t("feeds.contractHelp")}
            >
              <Input
                id="feed-contract"
                value={contractId}
                onChange={(event) => setContractId(event.target.value)}
                style={{ width: 340 }}
              />
            </Form.Item>
            <Form.Item
              label={t("feeds.everyMinutes")}
              htmlFor="feed-every"
              validateStatus={problem("everyMinutes") ? "error" : undefined}
              help={problem("everyMinutes") ?? t("feeds.everyHelp")}
            >
              <InputNumber<number>
                id="feed-every"
                min={MIN_EVERY_MINUTES}
                max={MAX_EVERY_MINUTES}
                precision={0}
                value={everyMinutes}
                onChange={(value) => setEveryMinutes(value)}
              />
            </Form.Item>
            <Button
              type="primary"
              htmlType="submit"
              loading={subscribing.fetching}
              style={{ marginTop: 30 }}
            >
              {t("feeds.subscribe")}
            </Button>
          </Space>
        </Form>
      ) : null}
    </Card>
  );
}
