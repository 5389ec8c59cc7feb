import {
  Alert,
  Button,
  Card,
  Descriptions,
  Form,
  InputNumber,
  Select,
  Space,
  Table,
  Typography,
} from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { ErrorNotice, QueryState } from "../../components/QueryState";
import { useLoadMore } from "../../components/useLoadMore";
import { graphql } from "../../gql/node";
import type { ForecastSeriesQuery } from "../../gql/node/graphql";
import { AccuracyCard } from "./AccuracyCard";
import { DemandNav } from "./DemandNav";
import { ForecastChart } from "./ForecastChart";
import { type Below, MAX_HORIZON, orderSeries } from "./shaping";
import { useBrand } from "./useBrand";

const ForecastRunsDocument = graphql(`
  query ForecastRuns($brand: String) {
    forecastRuns(brand: $brand, first: 20) {
      edges {
        node {
          id
          horizon
          firstWeek
          historyEnd
          createdAt
        }
      }
    }
  }
`);

const ForecastRunDocument = graphql(`
  query ForecastRunSummary($id: UUID!) {
    forecastRun(id: $id) {
      id
      horizon
      historyStart
      historyEnd
      firstWeek
      skus
      by
      elapsedS
      reconciliation
      filledWeeks
      returns
      createdBy
      createdAt
      demandClasses {
        demandClass
        series
      }
    }
  }
`);

const ForecastSeriesDocument = graphql(`
  query ForecastSeries($id: UUID!, $after: String) {
    forecastRun(id: $id) {
      id
      series(first: 100, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            name
            level
            model
            points {
              week
              mean
              q50
              q90
              lo90
              hi90
              actual
            }
          }
        }
      }
    }
  }
`);

const RunForecastDocument = graphql(`
  mutation RunForecast($brand: String, $horizon: Int!, $by: ForecastLevel!) {
    runForecast(brand: $brand, horizon: $horizon, by: $by) {
      __typename
      ... on RunForecastSuccess {
        forecast {
          id
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

type SeriesNode = ForecastSeriesQuery["forecastRun"]["series"]["edges"][number]["node"];
type Point = SeriesNode["points"][number];

function RunForecastCard({
  brand,
  onDone,
}: {
  brand: string | null;
  onDone: (id: string) => void;
}) {
  const { t } = useTranslation("demand");
  const [horizon, setHorizon] = useState<number | null>(8);
  const [by, setBy] = useState<Below>("REGION");
  const [{ fetching, error }, run] = useMutation(RunForecastDocument);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const submit = async () => {
    if (!horizon) return;
    setRefusal(null);
    const result = await run({ brand, horizon, by });
    const answer = result.data?.runForecast;
    if (answer?.__typename === "RunForecastSuccess") onDone(answer.forecast.id);
    else if (answer && "code" in answer) setRefusal({ code: answer.code, message: answer.message });
  };
  return (
    <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("forecast.run")}</h3>}>
      <Typography.Paragraph type="secondary">{t("forecast.runHelp")}</Typography.Paragraph>
      <Form layout="inline" onFinish={submit} aria-label={t("forecast.run")}>
        <Form.Item label={t("forecast.horizon")} htmlFor="demand-horizon">
          <InputNumber
            id="demand-horizon"
            min={1}
            max={MAX_HORIZON}
            precision={0}
            value={horizon}
            onChange={(value) => setHorizon(value)}
          />
        </Form.Item>
        <Form.Item label={t("forecast.by")} htmlFor="demand-by">
          <Select<Below>
            id="demand-by"
            value={by}
            onChange={setBy}
            style={{ minWidth: 140 }}
            options={(["REGION", "CHANNEL"] as const).map((value) => ({
              value,
              label: t(`forecast.byOption.${value}`),
            }))}
          />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={fetching} disabled={!horizon}>
            {t("forecast.runButton")}
          </Button>
        </Form.Item>
      </Form>
      {refusal ? (
        <Alert
          style={{ marginTop: 16 }}
          type="error"
          showIcon
          data-testid="forecast-refused"
          title={t("forecast.refused")}
          description={
            <>
              {refusal.message} <code>{refusal.code}</code>
            </>
          }
        />
      ) : null}
      {error ? (
        <div style={{ marginTop: 16 }}>
          <ErrorNotice error={error} title={t("forecast.refused")} />
        </div>
      ) : null}
    </Card>
  );
}

function SeriesView({ forecastId }: { forecastId: string }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const variables = useMemo(() => ({ id: forecastId, after: null }), [forecastId]);
  const [{ data, fetching, error }] = useQuery({ query: ForecastSeriesDocument, variables });
  const more = useLoadMore(
    ForecastSeriesDocument,
    variables,
    data?.forecastRun.series,
    (answer) => answer.forecastRun.series,
  );
  const series = useMemo(() => orderSeries(more.rows), [more.rows]);
  const [chosen, setChosen] = useState<string | null>(null);
  const shown =
    series.find((s) => s.name === chosen) ?? series.find((s) => s.level === "SKU") ?? series[0];
  return (
    <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("forecast.series")}</h3>}>
      <QueryState
        fetching={fetching}
        error={error ?? more.error}
        hasData={series.length > 0}
        empty={t("forecast.noSeries")}
      >
        <Space wrap style={{ marginBottom: 8 }}>
          <Typography.Text id="demand-series-label">{t("forecast.seriesPick")}</Typography.Text>
          <Select
            aria-labelledby="demand-series-label"
            showSearch={{ optionFilterProp: "label" }}
            value={shown?.name}
            onChange={(value: string) => setChosen(value)}
            style={{ minWidth: 280 }}
            data-testid="forecast-series"
            options={series.map((s) => ({
              value: s.name,
              label: `${s.name} (${t(`forecast.level.${s.level}`)})`,
            }))}
          />
          {shown?.model ? (
            <Typography.Text type="secondary">
              {t("forecast.model", { model: shown.model })}
            </Typography.Text>
          ) : null}
          {more.hasNext ? (
            <Button onClick={more.loadMore} loading={more.loading}>
              {t("forecast.moreSeries")}
            </Button>
          ) : null}
        </Space>
        {shown ? (
          <>
            <ForecastChart name={shown.name} points={shown.points} />
            <Table<Point>
              data-testid="forecast-points"
              rowKey="week"
              size="small"
              pagination={false}
              dataSource={shown.points}
              scroll={{ x: 600 }}
              columns={[
                {
                  title: t("forecast.week"),
                  dataIndex: "week",
                  render: (v: string) => format.date(v),
                },
                {
                  title: t("chart.mean"),
                  dataIndex: "mean",
                  align: "right",
                  render: (v: number) => format.number(v, { maximumFractionDigits: 1 }),
                },
                {
                  title: t("chart.interval"),
                  key: "interval",
                  align: "right",
                  render: (_: unknown, p) =>
                    `${format.number(p.lo90, { maximumFractionDigits: 1 })} – ${format.number(p.hi90, { maximumFractionDigits: 1 })}`,
                },
                {
                  title: t("forecast.q90"),
                  dataIndex: "q90",
                  align: "right",
                  render: (v: number) => format.number(v, { maximumFractionDigits: 1 }),
                },
                {
                  title: t("chart.actual"),
                  dataIndex: "actual",
                  align: "right",
                  render: (v: number | null) => format.number(v),
                },
              ]}
            />
          </>
        ) : null}
      </QueryState>
    </Card>
  );
}

export default function ForecastPage() {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const picker = useBrand();
  const [params, setParams] = useSearchParams();
  const [runs, refreshRuns] = useQuery({
    query: ForecastRunsDocument,
    variables: { brand: picker.brand },
    pause: picker.fetching && picker.brands.length === 0,
  });
  const list = runs.data?.forecastRuns.edges.map((edge) => edge.node) ?? [];
  const asked = params.get("run");
  const runId = asked ?? list[0]?.id ?? null;
  const [run] = useQuery({
    query: ForecastRunDocument,
    variables: { id: runId ?? "" },
    pause: !runId,
  });
  const summary = run.data?.forecastRun;
  const choose = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("run", id);
    setParams(next);
  };
  return (
    <>
      <Typography.Title level={2}>{t("forecast.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <RunForecastCard
          brand={picker.brand}
          onDone={(id) => {
            refreshRuns({ requestPolicy: "network-only" });
            choose(id);
          }}
        />
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("forecast.runs")}</h3>}>
          <QueryState
            fetching={runs.fetching}
            error={runs.error}
            hasData={list.length > 0}
            empty={t("forecast.noRuns")}
          >
            <Space wrap style={{ marginBottom: 16 }}>
              <Typography.Text id="demand-run-label">{t("forecast.runPick")}</Typography.Text>
              <Select
                aria-labelledby="demand-run-label"
                value={runId ?? undefined}
                onChange={(value: string) => choose(value)}
                style={{ minWidth: 360 }}
                options={list.map((r) => ({
                  value: r.id,
                  label: t("forecast.runLabel", {
                    at: format.dateTime(r.createdAt),
                    first: format.date(r.firstWeek),
                    weeks: r.horizon,
                  }),
                }))}
              />
            </Space>
            {run.error ? <ErrorNotice error={run.error} /> : null}
            {summary ? (
              <Descriptions
                size="small"
                column={{ xs: 1, md: 3 }}
                data-testid="forecast-summary"
                items={[
                  {
                    key: "history",
                    label: t("forecast.history"),
                    children: `${format.date(summary.historyStart)} – ${format.date(summary.historyEnd)}`,
                  },
                  {
                    key: "weeks",
                    label: t("forecast.weeks"),
                    children: t("forecast.weeksFrom", {
                      count: summary.horizon,
                      first: format.date(summary.firstWeek),
                    }),
                  },
                  { key: "skus", label: t("forecast.skus"), children: format.number(summary.skus) },
                  {
                    key: "reconciliation",
                    label: t("forecast.reconciliation"),
                    children: summary.reconciliation ?? "—",
                  },
                  {
                    key: "classes",
                    label: t("forecast.classes"),
                    children:
                      summary.demandClasses
                        .map(
                          (c) =>
                            `${t(`forecast.class.${c.demandClass}`, c.demandClass)} ${c.series}`,
                        )
                        .join(", ") || "—",
                  },
                  {
                    key: "gaps",
                    label: t("forecast.filled"),
                    children: t("forecast.filledValue", {
                      filled: summary.filledWeeks,
                      returns: summary.returns,
                    }),
                  },
                  {
                    key: "elapsed",
                    label: t("forecast.elapsed"),
                    children: t("forecast.seconds", {
                      seconds: format.number(summary.elapsedS, { maximumFractionDigits: 1 }),
                    }),
                  },
                  {
                    key: "made",
                    label: t("forecast.made"),
                    children: `${format.dateTime(summary.createdAt)} · ${summary.createdBy}`,
                  },
                ]}
              />
            ) : null}
          </QueryState>
        </Card>
        {runId ? <SeriesView key={runId} forecastId={runId} /> : null}
        {runId ? (
          <AccuracyCard
            key={`a-${runId}`}
            forecastId={runId}
            below={summary?.by === "CHANNEL" ? "CHANNEL" : "REGION"}
          />
        ) : null}
      </Space>
    </>
  );
}
