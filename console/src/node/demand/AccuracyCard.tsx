import { Card, Descriptions, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { ForecastAccuracyQuery } from "../../gql/node/graphql";
import { type Below, type Figures, judge, levelOf, orderSeries } from "./shaping";

const ForecastAccuracyDocument = graphql(`
  query ForecastAccuracy($id: UUID!) {
    forecastAccuracy(id: $id) {
      forecastId
      weeks
      pooled {
        mase
        rmsse
        bias
        coverage
      }
      series {
        series
        weeks
        figures {
          mase
          rmsse
          bias
          coverage
        }
      }
    }
  }
`);

type SeriesRow = ForecastAccuracyQuery["forecastAccuracy"]["series"][number];

/** MASE, RMSSE, bias and the interval's coverage, pooled and per series, on the weeks whose
 * sales have come in since the forecast. */
export function AccuracyCard({ forecastId, below }: { forecastId: string; below: Below }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({
    query: ForecastAccuracyDocument,
    variables: { id: forecastId },
  });
  const accuracy = data?.forecastAccuracy;
  const figure = (value: number | null | undefined) =>
    format.number(value, { maximumFractionDigits: 2 });
  const coverage = (value: number | null | undefined) =>
    format.number(value, { style: "percent", maximumFractionDigits: 0 });
  const verdict = (figures: Figures, key: "mase" | "coverage", text: string) => {
    const judged = judge(figures)[key];
    if (judged === null) return text;
    return (
      <Tag color={judged === "good" ? "success" : "warning"}>
        {text} · {t(`accuracy.${judged}`)}
      </Tag>
    );
  };
  const rows = orderSeries(
    (accuracy?.series ?? []).map((row) => ({
      ...row,
      name: row.series,
      level: levelOf(row.series, below),
    })),
  );
  return (
    <Card
      title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("accuracy.title")}</h3>}
      data-testid="forecast-accuracy"
    >
      <QueryState fetching={fetching} error={error} hasData={!!accuracy}>
        {accuracy && accuracy.weeks === 0 ? (
          <Typography.Paragraph type="secondary" data-testid="accuracy-none">
            {t("accuracy.none")}
          </Typography.Paragraph>
        ) : accuracy ? (
          <>
            <Typography.Paragraph>
              {t("accuracy.weeks", { count: accuracy.weeks })}
            </Typography.Paragraph>
            {accuracy.pooled ? (
              <Descriptions
                size="small"
                bordered
                column={{ xs: 1, md: 4 }}
                title={t("accuracy.pooled")}
                items={[
                  {
                    key: "mase",
                    label: t("accuracy.mase"),
                    children: verdict(accuracy.pooled, "mase", figure(accuracy.pooled.mase)),
                  },
                  {
                    key: "rmsse",
                    label: t("accuracy.rmsse"),
                    children: figure(accuracy.pooled.rmsse),
                  },
                  {
                    key: "bias",
                    label: t("accuracy.bias"),
                    children: figure(accuracy.pooled.bias),
                  },
                  {
                    key: "coverage",
                    label: t("accuracy.coverage"),
                    children: verdict(
                      accuracy.pooled,
                      "coverage",
                      coverage(accuracy.pooled.coverage),
                    ),
                  },
                ]}
              />
            ) : null}
            <Table<SeriesRow & { name: string }>
              style={{ marginTop: 16 }}
              data-testid="accuracy-series"
              rowKey="series"
              size="small"
              pagination={false}
              dataSource={rows}
              scroll={{ x: 700 }}
              columns={[
                { title: t("accuracy.series"), dataIndex: "series" },
                { title: t("accuracy.weeksColumn"), dataIndex: "weeks", align: "right" },
                {
                  title: t("accuracy.mase"),
                  key: "mase",
                  align: "right",
                  render: (_: unknown, row) =>
                    verdict(row.figures, "mase", figure(row.figures.mase)),
                },
                {
                  title: t("accuracy.rmsse"),
                  key: "rmsse",
                  align: "right",
                  render: (_: unknown, row) => figure(row.figures.rmsse),
                },
                {
                  title: t("accuracy.bias"),
                  key: "bias",
                  align: "right",
                  render: (_: unknown, row) => figure(row.figures.bias),
                },
                {
                  title: t("accuracy.coverage"),
                  key: "coverage",
                  align: "right",
                  render: (_: unknown, row) =>
                    verdict(row.figures, "coverage", coverage(row.figures.coverage)),
                },
              ]}
            />
            <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
              {t("accuracy.help")}
            </Typography.Paragraph>
          </>
        ) : null}
      </QueryState>
    </Card>
  );
}
