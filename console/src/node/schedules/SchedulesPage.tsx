import { Card, Input, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { QueryState } from "../../components/QueryState";
import { SchedulesFactoriesQuery } from "./documents";

interface FactoryRow {
  id: string;
  slug: string;
  name: string;
  status?: string;
}

/** Whose schedules: a factory's own people get their factories; the operator picks any. */
export default function SchedulesPage() {
  const { t } = useTranslation("schedules");
  const viewer = useViewer();
  const own = viewer.factories;
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const [{ data, fetching, error }] = useQuery({
    query: SchedulesFactoriesQuery,
    variables: { search: search || null },
    pause: !viewer.loaded || own.length > 0,
  });
  const rows: FactoryRow[] =
    own.length > 0 ? own : (data?.factories.edges.map((edge) => edge.node) ?? []);

  return (
    <>
      <Typography.Title level={2}>{t("title")}</Typography.Title>
      <Typography.Paragraph type="secondary">{t("pickFactory")}</Typography.Paragraph>
      <Card>
        {own.length === 0 ? (
          <Input.Search
            aria-label={t("searchFactories")}
            placeholder={t("searchFactories")}
            defaultValue={search}
            allowClear
            style={{ maxWidth: 360, marginBottom: 16 }}
            onSearch={(value) => setParams(value.trim() ? { q: value.trim() } : {})}
          />
        ) : null}
        <QueryState
          fetching={fetching || !viewer.loaded}
          error={error}
          hasData={rows.length > 0}
          empty={t("noFactories")}
        >
          <Table<FactoryRow>
            rowKey="id"
            size="middle"
            dataSource={rows}
            pagination={rows.length > 20 ? { pageSize: 20 } : false}
            columns={[
              {
                title: t("factory.name"),
                dataIndex: "name",
                render: (name: string, row) => (
                  <Link to={`/schedules/${row.id}`} data-testid="schedules-factory-link">
                    {name}
                  </Link>
                ),
              },
              { title: t("factory.slug"), dataIndex: "slug" },
              {
                title: t("factory.status"),
                dataIndex: "status",
                render: (status?: string) =>
                  status ? (
                    <Tag>{t(`factory.statuses.${status}`, { defaultValue: status })}</Tag>
                  ) : null,
              },
            ]}
          />
        </QueryState>
      </Card>
    </>
  );
}
