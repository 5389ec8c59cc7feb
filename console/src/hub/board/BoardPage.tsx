import { Button, Card, Checkbox, Input, Select, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { PROVINCE_CODES, regionLabel } from "../../components/provinces";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type { HubBoardQuery } from "../../gql/hub/graphql";
import { type BoardFilters, readBoardFilters, writeBoardFilters } from "./board";
import { BoardQuery } from "./documents";
import { PostForm } from "./PostForm";
import { CloseButton, type Posting, Quantity, SideTag, StatusTag, Window } from "./PostingBits";

const PAGE = 50;
const pickPostings = (data: HubBoardQuery) => data.supplyDemandBoard;

export default function BoardPage() {
  const { t, i18n } = useTranslation("board");
  const format = useFormat();
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const filters = readBoardFilters(params);
  const mineId = filters.mine ? viewer.organization : null;
  const variables = useMemo(
    () => ({
      side: filters.side,
      resource: filters.resource,
      item: filters.item || null,
      region: filters.region,
      includeClosed: filters.closed,
      organizationId: mineId,
      first: PAGE,
      after: null,
    }),
    [filters.side, filters.resource, filters.item, filters.region, filters.closed, mineId],
  );
  const [{ data, fetching, error }] = useQuery({ query: BoardQuery, variables });
  const pages = useLoadMore(BoardQuery, variables, data?.supplyDemandBoard, pickPostings);

  function update(next: Partial<BoardFilters>) {
    setParams(writeBoardFilters({ ...filters, ...next }));
  }

  const columns: ColumnsType<Posting> = [
    {
      title: t("fields.side"),
      dataIndex: "side",
      render: (side: string) => <SideTag side={side} />,
    },
    {
      title: t("fields.item"),
      key: "item",
      render: (_, posting) => (
        <Space orientation="vertical" size={0}>
          <Link to={`/board/${posting.id}`}>{posting.item}</Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t(`resource.${posting.resource}`)}
          </Typography.Text>
        </Space>
      ),
    },
    {
      title: t("fields.quantity"),
      key: "quantity",
      align: "right",
      render: (_, posting) => <Quantity quantity={posting.quantity} unit={posting.unit} />,
    },
    {
      title: t("fields.window"),
      key: "window",
      render: (_, posting) => <Window from={posting.availableFrom} to={posting.availableTo} />,
    },
    {
      title: t("fields.place"),
      key: "place",
      render: (_, posting) => (
        <Space orientation="vertical" size={0}>
          <span>{posting.city}</span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {regionLabel(posting.region, i18n.language)}
          </Typography.Text>
        </Space>
      ),
    },
    { title: t("fields.organization"), dataIndex: "organizationName" },
    {
      title: t("fields.postedAt"),
      dataIndex: "createdAt",
      onCell: () => ({ style: { whiteSpace: "nowrap" } }),
      render: (value: string) => (
        <span title={format.dateTime(value)}>{format.relative(value)}</span>
      ),
    },
    {
      title: t("fields.status"),
      dataIndex: "status",
      render: (status: string) => <StatusTag status={status} />,
    },
    {
      title: t("fields.actions"),
      key: "actions",
      onCell: () => ({ style: { whiteSpace: "nowrap" } }),
      render: (_, posting) => (
        <Space>
          <Link to={`/board/${posting.id}`}>{t("list.matches")}</Link>
          <CloseButton posting={posting} size="small" />
        </Space>
      ),
    },
  ];

  return (
    <>
      <Space align="baseline" wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={2}>{t("list.title")}</Typography.Title>
        {viewer.can.postToBoard === true ? <PostForm /> : null}
      </Space>
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Select
            aria-label={t("fields.side")}
            allowClear
            style={{ minWidth: 120 }}
            placeholder={t("list.anySide")}
            value={filters.side ?? undefined}
            onChange={(side) => update({ side: side ?? null })}
            options={(["NEED", "OFFER"] as const).map((value) => ({
              value,
              label: t(`side.${value}`),
            }))}
          />
          <Select
            aria-label={t("fields.resource")}
            allowClear
            style={{ minWidth: 140 }}
            placeholder={t("list.anyResource")}
            value={filters.resource ?? undefined}
            onChange={(resource) => update({ resource: resource ?? null })}
            options={(["CAPACITY", "MATERIAL"] as const).map((value) => ({
              value,
              label: t(`resource.${value}`),
            }))}
          />
          <Input.Search
            aria-label={t("fields.item")}
            placeholder={t("list.item")}
            allowClear
            defaultValue={filters.item}
            key={filters.item}
            onSearch={(item) => update({ item: item.trim().toLowerCase() })}
            style={{ width: 220 }}
          />
          <Select
            aria-label={t("fields.region")}
            allowClear
            showSearch={{ optionFilterProp: "label" }}
            style={{ minWidth: 180 }}
            placeholder={t("list.anyRegion")}
            value={filters.region ?? undefined}
            onChange={(region) => update({ region: region ?? null })}
            options={PROVINCE_CODES.map((code) => ({
              value: code,
              label: regionLabel(code, i18n.language),
            }))}
          />
          <Checkbox
            checked={filters.closed}
            onChange={(event) => update({ closed: event.target.checked })}
          >
            {t("list.includeClosed")}
          </Checkbox>
          {viewer.organization ? (
            <Checkbox
              checked={filters.mine}
              onChange={(event) => update({ mine: event.target.checked })}
            >
              {t("list.mine")}
            </Checkbox>
          ) : null}
        </Space>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={pages.rows.length > 0}
          empty={t("list.empty")}
        >
          <Typography.Paragraph type="secondary">
            {t("list.total", { count: data?.supplyDemandBoard.totalCount ?? pages.rows.length })}
          </Typography.Paragraph>
          <Table<Posting>
            data-testid="board-table"
            rowKey="id"
            columns={columns}
            dataSource={pages.rows}
            pagination={false}
            scroll={{ x: true }}
          />
          {pages.error ? <ErrorNotice error={pages.error} /> : null}
          {pages.hasNext ? (
            <Button style={{ marginTop: 16 }} loading={pages.loading} onClick={pages.loadMore}>
              {t("list.more")}
            </Button>
          ) : null}
        </QueryState>
      </Card>
    </>
  );
}
