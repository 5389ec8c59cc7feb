import {
  Breadcrumb,
  Button,
  Card,
  Descriptions,
  InputNumber,
  Select,
  Space,
  Table,
  Typography,
} from "antd";
import type { ColumnsType } from "antd/es/table";
import { ScatterChart } from "echarts/charts";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { EChart, use } from "../../components/EChart";
import { useFormat } from "../../components/format";
import { regionLabel } from "../../components/provinces";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import type { HubBoardMatchesQuery } from "../../gql/hub/graphql";
import {
  COVERAGE_STEPS,
  distanceOption,
  type MatchPoint,
  readMatchFilters,
  writeMatchFilters,
} from "./board";
import { MatchesQuery, PostingQuery } from "./documents";
import { CloseButton, Quantity, SideTag, StatusTag, Window } from "./PostingBits";

use([ScatterChart]);

type Match = HubBoardMatchesQuery["supplyDemandMatches"]["edges"][number]["node"];

const PAGE = 50;
const pickMatches = (data: HubBoardMatchesQuery) => data.supplyDemandMatches;

function Matches({ postingId }: { postingId: string }) {
  const { t, i18n } = useTranslation("board");
  const format = useFormat();
  const [params, setParams] = useSearchParams();
  const filters = readMatchFilters(params);
  const variables = useMemo(
    () => ({
      postingId,
      maxDistanceKm: filters.maxKm,
      minCoverage: filters.minCoverage,
      first: PAGE,
      after: null,
    }),
    [postingId, filters.maxKm, filters.minCoverage],
  );
  const [{ data, fetching, error }] = useQuery({ query: MatchesQuery, variables });
  const pages = useLoadMore(MatchesQuery, variables, data?.supplyDemandMatches, pickMatches);
  const percent = (value: number) =>
    format.number(value, { style: "percent", maximumFractionDigits: 0 });
  const km = (value: number) => `${format.number(value, { maximumFractionDigits: 0 })} km`;

  const points: MatchPoint[] = pages.rows.map((match) => ({
    id: match.posting.id,
    name: match.posting.organizationName,
    city: match.posting.city,
    distanceKm: match.distanceKm,
    coverage: match.coverage,
    quantity: match.matchableQuantity,
    unit: match.posting.unit,
    from: match.posting.availableFrom,
  }));
  const option = distanceOption(
    points,
    {
      distance: t("matches.distanceAxis"),
      coverage: t("matches.coverageAxis"),
      posting: t("matches.thisPosting"),
      matches: t("matches.series"),
    },
    (point) =>
      t("matches.tooltip", {
        name: point.name,
        city: point.city,
        distance: km(point.distanceKm),
        coverage: percent(point.coverage),
        quantity: `${format.number(point.quantity)} ${point.unit}`,
        from: format.date(`${point.from}T00:00:00`),
      }),
  );

  const columns: ColumnsType<Match> = [
    {
      title: t("matches.rank"),
      key: "rank",
      render: (_, __, index) => format.number(index + 1),
    },
    {
      title: t("matches.coverage"),
      dataIndex: "coverage",
      align: "right",
      render: (value: number) => <strong>{percent(value)}</strong>,
    },
    {
      title: t("matches.distance"),
      dataIndex: "distanceKm",
      align: "right",
      render: (value: number) => km(value),
    },
    {
      title: t("matches.quantity"),
      key: "quantity",
      align: "right",
      render: (_, match) => (
        <Quantity quantity={match.matchableQuantity} unit={match.posting.unit} />
      ),
    },
    {
      title: t("matches.start"),
      key: "start",
      render: (_, match) => (
        <Space orientation="vertical" size={0}>
          <Window from={match.posting.availableFrom} to={match.posting.availableTo} />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t("matches.overlap", { count: match.overlapDays })}
          </Typography.Text>
        </Space>
      ),
    },
    {
      title: t("matches.who"),
      key: "who",
      render: (_, match) => (
        <Space orientation="vertical" size={0}>
          <Link to={`/board/${match.posting.id}`}>{match.posting.organizationName}</Link>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {match.posting.city} · {regionLabel(match.posting.region, i18n.language)}
          </Typography.Text>
        </Space>
      ),
    },
    {
      title: t("fields.note"),
      key: "note",
      render: (_, match) => match.posting.note || "—",
    },
  ];

  return (
    <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("matches.title")}</h3>}>
      <Space wrap style={{ marginBottom: 16 }}>
        <label htmlFor="match-distance">{t("matches.maxDistance")}</label>
        <InputNumber
          id="match-distance"
          min={1}
          max={20100}
          suffix="km"
          placeholder={t("matches.anyDistance")}
          defaultValue={filters.maxKm ?? undefined}
          key={filters.maxKm ?? "any"}
          onBlur={(event) => {
            const value = Number(event.target.value.replace(/[^\d.]/g, ""));
            setParams(writeMatchFilters(params, { ...filters, maxKm: value > 0 ? value : null }), {
              replace: true,
            });
          }}
          onPressEnter={(event) => (event.target as HTMLInputElement).blur()}
          style={{ width: 160 }}
        />
        <label htmlFor="match-coverage">{t("matches.minCoverage")}</label>
        <Select
          id="match-coverage"
          allowClear
          style={{ minWidth: 140 }}
          placeholder={t("matches.anyCoverage")}
          value={filters.minCoverage ?? undefined}
          onChange={(value) =>
            setParams(writeMatchFilters(params, { ...filters, minCoverage: value ?? null }))
          }
          options={COVERAGE_STEPS.map((value) => ({ value, label: `≥ ${percent(value)}` }))}
        />
      </Space>
      <QueryState
        fetching={fetching}
        error={error}
        hasData={pages.rows.length > 0}
        empty={t("matches.empty")}
      >
        <Typography.Paragraph type="secondary" data-testid="matches-total">
          {t("matches.total", { count: data?.supplyDemandMatches.totalCount ?? pages.rows.length })}
        </Typography.Paragraph>
        <div data-testid="matches-chart">
          <EChart option={option} label={t("matches.chartLabel")} style={{ height: 320 }} />
        </div>
        <Table<Match>
          data-testid="matches-table"
          rowKey={(match) => match.posting.id}
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
  );
}

export default function PostingPage() {
  const { t, i18n } = useTranslation("board");
  const format = useFormat();
  const id = useParams().id ?? "";
  const valid = /^[0-9a-f-]{36}$/i.test(id);
  const [{ data, fetching, error }] = useQuery({
    query: PostingQuery,
    variables: { id },
    pause: !valid,
  });
  const posting = data?.supplyDemandPosting;

  return (
    <>
      <Breadcrumb
        items={[
          { title: <Link to="/board">{t("list.title")}</Link> },
          { title: posting?.item ?? id },
        ]}
      />
      <Typography.Title level={2}>
        {posting
          ? t("posting.title", { side: t(`side.${posting.side}`), item: posting.item })
          : t("posting.loading")}
      </Typography.Title>
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card>
          <QueryState
            fetching={fetching}
            error={error}
            hasData={!!posting}
            empty={t("posting.notFound")}
          >
            {posting ? (
              <Descriptions
                column={{ xs: 1, md: 2 }}
                size="small"
                bordered
                extra={<CloseButton posting={posting} />}
              >
                <Descriptions.Item label={t("fields.side")}>
                  <SideTag side={posting.side} />
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.status")}>
                  <StatusTag status={posting.status} />
                  {posting.closedAt ? format.dateTime(posting.closedAt) : null}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.resource")}>
                  {t(`resource.${posting.resource}`)}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.item")}>
                  <code>{posting.item}</code>
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.quantity")}>
                  <Quantity quantity={posting.quantity} unit={posting.unit} />
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.window")}>
                  <Window from={posting.availableFrom} to={posting.availableTo} />
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.place")}>
                  {posting.city} · {regionLabel(posting.region, i18n.language)} (
                  {format.number(posting.latitude, { maximumFractionDigits: 4 })},{" "}
                  {format.number(posting.longitude, { maximumFractionDigits: 4 })})
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.maxDistanceKm")}>
                  {posting.maxDistanceKm
                    ? `${format.number(posting.maxDistanceKm)} km`
                    : t("posting.noLimit")}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.organization")}>
                  {posting.organizationName}
                </Descriptions.Item>
                <Descriptions.Item label={t("fields.postedAt")}>
                  {format.dateTime(posting.createdAt)}
                </Descriptions.Item>
                {posting.note ? (
                  <Descriptions.Item label={t("fields.note")} span={2}>
                    {posting.note}
                  </Descriptions.Item>
                ) : null}
              </Descriptions>
            ) : null}
          </QueryState>
        </Card>
        {posting ? (
          posting.status === "OPEN" ? (
            <Matches postingId={posting.id} />
          ) : (
            <Card>
              <Typography.Text type="secondary">{t("posting.closedNoMatches")}</Typography.Text>
            </Card>
          )
        ) : null}
      </Space>
    </>
  );
}
