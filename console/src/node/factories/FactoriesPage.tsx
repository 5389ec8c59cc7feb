import { LeftOutlined, PlusOutlined, RightOutlined } from "@ant-design/icons";
import { Button, Card, Flex, Input, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType, SorterResult } from "antd/es/table/interface";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { FactoriesListQuery } from "../../gql/node/graphql";
import { InviteFactoryModal } from "./InviteFactoryModal";
import { FACTORY_STATUSES, isFactoryStatus, STATUS_COLORS } from "./status";

const FactoriesList = graphql(`
  query FactoriesList(
    $status: FactoryStatus
    $region: String
    $search: String
    $first: Int!
    $after: String
  ) {
    factories(status: $status, region: $region, search: $search, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          slug
          name
          status
          location {
            city
            region
          }
          skills
          products
          statusChangedAt
          updatedAt
        }
      }
    }
  }
`);

type Row = FactoriesListQuery["factories"]["edges"][number]["node"];
type SortKey = "name" | "slug" | "status" | "region" | "statusChangedAt";
const SORT_KEYS: SortKey[] = ["name", "slug", "status", "region", "statusChangedAt"];
const PAGE_SIZES = [20, 50, 100];

/** The cursors of the pages before this one, kept in the history entry (Back works too). */
interface PageTrail {
  trail?: (string | null)[];
}

function compareRows(key: SortKey, a: Row, b: Row): number {
  switch (key) {
    case "status":
      return FACTORY_STATUSES.indexOf(a.status) - FACTORY_STATUSES.indexOf(b.status);
    case "region":
      return (a.location.region ?? "").localeCompare(b.location.region ?? "");
    case "statusChangedAt":
      return Date.parse(a.statusChangedAt) - Date.parse(b.statusChangedAt);
    default:
      return a[key].localeCompare(b[key]);
  }
}

export default function FactoriesPage() {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const viewer = useViewer();
  const navigate = useNavigate();
  const location = useLocation();
  const [params, setParams] = useSearchParams();
  const [inviting, setInviting] = useState(false);

  const search = params.get("q") ?? "";
  const statusParam = params.get("status");
  const status = isFactoryStatus(statusParam) ? statusParam : null;
  const region = params.get("region") ?? "";
  const after = params.get("after");
  const sizeParam = Number(params.get("size"));
  const size = PAGE_SIZES.includes(sizeParam) ? sizeParam : 20;
  const sortParam = params.get("sort") ?? "";
  const sortKey = SORT_KEYS.find((key) => sortParam.replace(/^-/, "") === key) ?? null;
  const sortOrder = sortKey ? (sortParam.startsWith("-") ? "descend" : "ascend") : null;
  const trail = (location.state as PageTrail | null)?.trail ?? [];

  const [{ data, fetching, error }] = useQuery({
    query: FactoriesList,
    variables: {
      status,
      region: region || null,
      search: search || null,
      first: size,
      after,
    },
  });
  const connection = data?.factories;

  const rows = useMemo(() => {
    const list = connection?.edges.map((edge) => edge.node) ?? [];
    if (!sortKey) return list;
    const sign = sortOrder === "descend" ? -1 : 1;
    return [...list].sort((a, b) => sign * compareRows(sortKey, a, b));
  }, [connection, sortKey, sortOrder]);

  /** Changes the filters: back to the first page. */
  const filter = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    next.delete("after");
    setParams(next, { state: null });
  };

  const goTo = (cursor: string | null, nextTrail: (string | null)[]) => {
    const next = new URLSearchParams(params);
    if (cursor) next.set("after", cursor);
    else next.delete("after");
    setParams(next, { state: { trail: nextTrail } satisfies PageTrail });
  };

  const columns: ColumnsType<Row> = [
    {
      key: "name",
      title: t("list.columns.name"),
      dataIndex: "name",
      sorter: true,
      sortOrder: sortKey === "name" ? sortOrder : null,
      render: (_, row) => <Link to={`/factories/${encodeURIComponent(row.slug)}`}>{row.name}</Link>,
    },
    {
      key: "slug",
      title: t("list.columns.slug"),
      dataIndex: "slug",
      sorter: true,
      sortOrder: sortKey === "slug" ? sortOrder : null,
      render: (slug: string) => <Typography.Text code>{slug}</Typography.Text>,
    },
    {
      key: "status",
      title: t("list.columns.status"),
      dataIndex: "status",
      sorter: true,
      sortOrder: sortKey === "status" ? sortOrder : null,
      render: (value: Row["status"]) => (
        <Tag color={STATUS_COLORS[value]}>{t(`status.${value}`)}</Tag>
      ),
    },
    {
      key: "region",
      title: t("list.columns.location"),
      sorter: true,
      sortOrder: sortKey === "region" ? sortOrder : null,
      render: (_, row) =>
        [row.location.city, row.location.region].filter(Boolean).join(" · ") || "—",
    },
    {
      key: "skills",
      title: t("list.columns.skills"),
      render: (_, row) =>
        row.skills.length ? (
          <Flex wrap gap={4}>
            {row.skills.slice(0, 3).map((skill) => (
              <Tag key={skill}>{skill}</Tag>
            ))}
            {row.skills.length > 3 ? <Tag>+{row.skills.length - 3}</Tag> : null}
          </Flex>
        ) : (
          "—"
        ),
    },
    {
      key: "statusChangedAt",
      title: t("list.columns.statusChangedAt"),
      dataIndex: "statusChangedAt",
      sorter: true,
      sortOrder: sortKey === "statusChangedAt" ? sortOrder : null,
      render: (value: string) => (
        <span title={format.dateTime(value)}>{format.relative(value)}</span>
      ),
    },
  ];

  const total = connection?.totalCount;
  const firstIndex = trail.length * size;

  return (
    <>
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={2}>{t("list.title")}</Typography.Title>
        {viewer.can.manageFactories === true ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setInviting(true)}>
            {t("invite.button")}
          </Button>
        ) : null}
      </Flex>
      <Card>
        <Flex wrap gap={12} style={{ marginBottom: 16 }} role="search">
          <Input.Search
            allowClear
            aria-label={t("list.search")}
            placeholder={t("list.searchPlaceholder")}
            defaultValue={search}
            key={`q:${search}`}
            onSearch={(value) => filter({ q: value.trim() || null })}
            style={{ width: 280 }}
            enterButton={t("list.searchButton")}
          />
          <Select
            aria-label={t("list.status")}
            value={status ?? ""}
            onChange={(value: string) => filter({ status: value || null })}
            style={{ width: 180 }}
            options={[
              { value: "", label: t("list.anyStatus") },
              ...FACTORY_STATUSES.map((value) => ({ value, label: t(`status.${value}`) })),
            ]}
          />
          <Input.Search
            allowClear
            aria-label={t("list.region")}
            placeholder={t("list.regionPlaceholder")}
            defaultValue={region}
            key={`region:${region}`}
            onSearch={(value) => filter({ region: value.trim().toUpperCase() || null })}
            style={{ width: 240 }}
          />
        </Flex>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={!!connection && (connection.edges.length > 0 || !!after)}
          empty={t(search || status || region ? "list.noMatch" : "list.empty")}
          rows={8}
        >
          <Table<Row>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={fetching}
            pagination={false}
            scroll={{ x: 900 }}
            showSorterTooltip={false}
            onChange={(_pagination, _filters, sorter) => {
              const one = (Array.isArray(sorter) ? sorter[0] : sorter) as SorterResult<Row>;
              const key = one?.order ? String(one.columnKey) : null;
              const next = new URLSearchParams(params);
              if (key) next.set("sort", one.order === "descend" ? `-${key}` : key);
              else next.delete("sort");
              setParams(next, { state: location.state, replace: true });
            }}
          />
          <Flex justify="space-between" align="center" wrap gap={8} style={{ marginTop: 16 }}>
            <Typography.Text type="secondary" data-testid="factories-range">
              {rows.length
                ? total === null || total === undefined
                  ? t("list.rangeNoTotal", {
                      from: format.number(firstIndex + 1),
                      to: format.number(firstIndex + rows.length),
                    })
                  : t("list.range", {
                      from: format.number(firstIndex + 1),
                      to: format.number(firstIndex + rows.length),
                      total: format.number(total),
                    })
                : t("list.pageEmpty")}
            </Typography.Text>
            <Space wrap>
              <Select
                aria-label={t("list.pageSize")}
                value={size}
                onChange={(value: number) => filter({ size: String(value) })}
                options={PAGE_SIZES.map((value) => ({
                  value,
                  label: t("list.perPage", { count: value }),
                }))}
                style={{ width: 130 }}
              />
              <Button
                icon={<LeftOutlined />}
                disabled={!after}
                onClick={() => {
                  // A deep link to a later page has no trail: back to the first.
                  const previous = trail.length ? (trail[trail.length - 1] ?? null) : null;
                  goTo(previous, trail.slice(0, -1));
                }}
              >
                {t("list.previous")}
              </Button>
              <Button
                disabled={!connection?.pageInfo.hasNextPage}
                onClick={() =>
                  goTo(connection?.pageInfo.endCursor ?? null, [...trail, after ?? null])
                }
              >
                {t("list.next")}
                <RightOutlined />
              </Button>
            </Space>
          </Flex>
        </QueryState>
      </Card>
      <InviteFactoryModal
        open={inviting}
        onClose={() => setInviting(false)}
        onInvited={(slug) => {
          setInviting(false);
          navigate(`/factories/${encodeURIComponent(slug)}`);
        }}
      />
    </>
  );
}
