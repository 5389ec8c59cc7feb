import { SafetyCertificateOutlined } from "@ant-design/icons";
import { App, Button, Card, Input, Popconfirm, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { CursorPager, useCursorPages } from "../../components/CursorPager";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import type { MarketPublisherOrgsQuery } from "../../gql/hub/graphql";
import {
  MarketPublishersQuery,
  MarketVerifyPublisher,
  MarketPublisherOrgsQuery as OrgsDocument,
} from "./documents";
import { withParams } from "./market";
import { SigningKeys } from "./SigningKeys";

type Organization = MarketPublisherOrgsQuery["organizations"]["edges"][number]["node"];
const PAGE = 50;

/** Hub reviewers verify publishing organizations: only then does the hub take their releases. */
export default function PublishersPage() {
  const { t } = useTranslation("market");
  const { message } = App.useApp();
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const text = params.get("q")?.trim() || null;
  const pages = useCursorPages();
  const { reset } = pages;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new search starts at page one
  useEffect(() => reset(), [text, reset]);
  const [orgs] = useQuery({
    query: OrgsDocument,
    variables: { text, first: PAGE, after: pages.after },
  });
  const rows = orgs.data?.organizations.edges.map((edge) => edge.node) ?? [];
  const ids = rows.map((row) => row.id);
  const [verified, refetchVerified] = useQuery({
    query: MarketPublishersQuery,
    variables: { ids },
    pause: ids.length === 0,
  });
  const byId = new Map((verified.data?.marketPublishers ?? []).map((p) => [p.organizationId, p]));
  const [verifying, verify] = useMutation(MarketVerifyPublisher);

  const columns: ColumnsType<Organization> = [
    { title: t("publishers.name"), dataIndex: "name", render: (v: string) => <strong>{v}</strong> },
    { title: t("publishers.id"), dataIndex: "id", render: (v: string) => <code>{v}</code> },
    {
      title: t("publishers.since"),
      dataIndex: "createdAt",
      render: (v: string) => format.date(v),
    },
    {
      title: t("search.verified"),
      key: "verified",
      render: (_, row) => {
        if (!verified.data) return "…";
        const publisher = byId.get(row.id);
        return publisher ? (
          <>
            <Tag color="success" icon={<SafetyCertificateOutlined />}>
              {t("publishers.verified")}
            </Tag>
            <Typography.Text type="secondary">
              {format.dateTime(publisher.verifiedAt)} · {publisher.verifiedBy}
            </Typography.Text>
          </>
        ) : (
          <Tag>{t("publishers.unverified")}</Tag>
        );
      },
    },
    {
      title: t("keys.actions"),
      key: "actions",
      render: (_, row) =>
        byId.has(row.id) || !verified.data ? null : (
          <Popconfirm
            title={t("publishers.confirm", { name: row.name })}
            okText={t("publishers.verify")}
            cancelText={t("cancel")}
            onConfirm={async () => {
              const result = await verify({ organizationId: row.id });
              if (result.data) {
                message.success(t("publishers.done", { name: row.name }));
                refetchVerified({ requestPolicy: "network-only" });
              }
            }}
          >
            <Button size="small" type="primary">
              {t("publishers.verify")}
            </Button>
          </Popconfirm>
        ),
    },
  ];

  return (
    <>
      <Typography.Title level={2}>{t("publishers.title")}</Typography.Title>
      <Typography.Paragraph type="secondary">{t("publishers.explain")}</Typography.Paragraph>
      <Input.Search
        key={text ?? ""}
        defaultValue={text ?? ""}
        placeholder={t("publishers.search")}
        aria-label={t("publishers.search")}
        allowClear
        maxLength={100}
        onSearch={(value) => setParams(withParams(params, { q: value.trim() || null }))}
        style={{ maxWidth: 420, marginBottom: 16 }}
      />
      <Card size="small">
        <QueryState
          fetching={orgs.fetching}
          error={orgs.error ?? verified.error}
          hasData={rows.length > 0}
          empty={t("publishers.empty")}
        >
          <Table<Organization>
            data-testid="publishers"
            rowKey="id"
            columns={columns}
            dataSource={rows}
            pagination={false}
            scroll={{ x: true }}
          />
        </QueryState>
        <CursorPager pages={pages} pageInfo={orgs.data?.organizations.pageInfo} />
        {verifying.error ? (
          <ErrorNotice error={verifying.error} title={t("publishers.failed")} />
        ) : null}
      </Card>
      <div style={{ marginTop: 16 }}>
        <SigningKeys />
      </div>
    </>
  );
}
