import { Button, Space, Table, Tag, Tooltip, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type { DeadLettersQuery as DeadLettersResult } from "../../gql/node/graphql";
import { DeadLettersQuery } from "./queries";
import { payloadPreview } from "./status";

type Letter = DeadLettersResult["deadLetters"]["edges"][number]["node"];
const pickDeadLetters = (data: DeadLettersResult) => data.deadLetters;

const PAGE_SIZE = 50;

export interface DeadLetterFilter {
  reason?: string | null;
  deviceKey?: string | null;
  source?: string | null;
}

function Payload({ letter }: { letter: Letter }) {
  const { t } = useTranslation("devices");
  const preview = useMemo(() => payloadPreview(letter.payloadBase64), [letter.payloadBase64]);
  return (
    <Space orientation="vertical" style={{ width: "100%" }}>
      <Typography.Text type="secondary">
        {preview.binary ? t("deadLetters.binary") : t("deadLetters.text")}
        {letter.topic ? ` · ${letter.topic}` : ""}
      </Typography.Text>
      <pre
        style={{
          whiteSpace: "pre-wrap",
          wordBreak: "break-all",
          maxHeight: 240,
          overflow: "auto",
          margin: 0,
        }}
      >
        {preview.text}
      </pre>
    </Space>
  );
}

/** What ingest refused, newest first, with the reason and the bytes; "load more" pages on. */
export function DeadLettersTable({
  filter,
  onReason,
}: {
  filter: DeadLetterFilter;
  onReason?: (reason: string) => void;
}) {
  const { t } = useTranslation("devices");
  const format = useFormat();
  const variables = useMemo(
    () => ({
      reason: filter.reason || null,
      deviceKey: filter.deviceKey || null,
      source: filter.source || null,
      first: PAGE_SIZE,
    }),
    [filter.reason, filter.deviceKey, filter.source],
  );
  const [{ data, fetching, error }] = useQuery({ query: DeadLettersQuery, variables });
  const pages = useLoadMore(DeadLettersQuery, variables, data?.deadLetters, pickDeadLetters);
  const { rows, hasNext } = pages;

  const columns: ColumnsType<Letter> = [
    {
      title: t("deadLetters.receivedAt"),
      dataIndex: "receivedAt",
      render: (value: string) => (
        <Tooltip title={format.dateTime(value)}>
          <time dateTime={value}>{format.relative(value)}</time>
        </Tooltip>
      ),
    },
    {
      title: t("deadLetters.reason"),
      dataIndex: "reason",
      render: (value: string) =>
        onReason ? (
          <Button
            type="link"
            size="small"
            style={{ padding: 0 }}
            onClick={() => onReason(value)}
            aria-label={t("deadLetters.filterByReason", { reason: value })}
          >
            <Tag color="error" data-testid="dead-letter-reason">
              {value}
            </Tag>
          </Button>
        ) : (
          <Tag color="error" data-testid="dead-letter-reason">
            {value}
          </Tag>
        ),
    },
    { title: t("deadLetters.detail"), dataIndex: "detail", render: (v: string) => v || "—" },
    {
      title: t("deadLetters.device"),
      dataIndex: "deviceKey",
      render: (v: string | null) => v ?? "—",
    },
    {
      title: t("deadLetters.source"),
      dataIndex: "source",
      render: (v: string) => <Tag>{v.toUpperCase()}</Tag>,
    },
    {
      title: t("deadLetters.size"),
      dataIndex: "payloadSize",
      align: "right",
      render: (v: number) => t("deadLetters.bytes", { count: v, formatted: format.number(v) }),
    },
  ];

  return (
    <QueryState
      fetching={fetching}
      error={error}
      hasData={rows.length > 0}
      empty={t("deadLetters.empty")}
      rows={5}
    >
      <Table<Letter>
        rowKey="id"
        size="middle"
        columns={columns}
        dataSource={rows}
        pagination={false}
        scroll={{ x: "max-content" }}
        expandable={{ expandedRowRender: (letter) => <Payload letter={letter} /> }}
      />
      {pages.error ? <ErrorNotice error={pages.error} /> : null}
      {hasNext ? (
        <div style={{ textAlign: "center", marginTop: 16 }}>
          <Button onClick={() => void pages.loadMore()} loading={pages.loading}>
            {t("deadLetters.loadMore")}
          </Button>
        </div>
      ) : null}
    </QueryState>
  );
}
