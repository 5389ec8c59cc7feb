import { CalendarOutlined, PlusOutlined, ThunderboltOutlined } from "@ant-design/icons";
import { Breadcrumb, Button, Card, Form, Select, Space, Tabs, Typography } from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type { ScheduleFieldsFragment } from "../../gql/node/graphql";
import { ScheduleQuery, SchedulesFactoryQuery, SchedulesListQuery } from "./documents";
import { parseIds } from "./forms";
import { NewScheduleModal, RushJobModal, WorkOrdersModal } from "./ScheduleForms";
import { ScheduleView } from "./ScheduleView";
import { WhatIfPanel } from "./WhatIfPanel";

type Dialog = "new" | "workOrders" | "rush" | null;

/** A factory's schedules: one as a Gantt chart (`?schedule=`), rush jobs, and what-if (`?tab=whatif&compare=`). */
export default function FactorySchedulesPage() {
  const { t } = useTranslation("schedules");
  const format = useFormat();
  const { factoryId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const viewer = useViewer();
  const canManage = viewer.can.manageSchedules !== false;
  const [dialog, setDialog] = useState<Dialog>(null);
  const [factory] = useQuery({ query: SchedulesFactoryQuery, variables: { id: factoryId } });
  const [list, refetchList] = useQuery({ query: SchedulesListQuery, variables: { factoryId } });
  const schedules = list.data?.factorySchedules.edges.map((e) => e.node) ?? [];
  const selectedId = params.get("schedule") ?? schedules[0]?.id ?? null;
  const [current] = useQuery({
    query: ScheduleQuery,
    variables: { id: selectedId ?? "" },
    pause: !selectedId,
  });
  const schedule = current.data?.factorySchedule;
  const tab = params.get("tab") === "whatif" ? "whatif" : "gantt";
  const compare = parseIds(params.get("compare"));

  const update = useCallback(
    (changes: Record<string, string | null>) => {
      setParams((old) => {
        const next = new URLSearchParams(old);
        for (const [key, value] of Object.entries(changes)) {
          if (value === null || value === "") next.delete(key);
          else next.set(key, value);
        }
        return next;
      });
    },
    [setParams],
  );

  const created = (made: ScheduleFieldsFragment) => {
    setDialog(null);
    refetchList({ requestPolicy: "network-only" });
    update({ schedule: made.id, tab: null });
  };

  const name = factory.data?.factory.name;
  const title = name ? t("factoryTitle", { name }) : t("title");

  return (
    <>
      <Breadcrumb
        items={[{ title: <Link to="/schedules">{t("menu")}</Link> }, { title: name ?? factoryId }]}
        style={{ marginBottom: 8 }}
      />
      <Typography.Title level={2}>{title}</Typography.Title>
      {factory.error && !factory.data ? (
        <QueryState fetching={false} error={factory.error} hasData={false}>
          {null}
        </QueryState>
      ) : null}
      <Card style={{ marginBottom: 16 }}>
        <Space wrap align="end" style={{ width: "100%", justifyContent: "space-between" }}>
          <Form layout="vertical" style={{ minWidth: 320 }}>
            <Form.Item
              label={t("pickSchedule")}
              htmlFor="schedule-pick"
              style={{ marginBottom: 0 }}
            >
              <Select
                id="schedule-pick"
                value={selectedId ?? undefined}
                loading={list.fetching}
                placeholder={t("noSchedules")}
                style={{ minWidth: 360 }}
                options={schedules.map((s) => ({
                  value: s.id,
                  label: `${s.name} · ${format.dateTime(s.createdAt)}`,
                }))}
                onChange={(id: string) => update({ schedule: id })}
              />
            </Form.Item>
          </Form>
          {canManage ? (
            <Space wrap>
              <Button icon={<PlusOutlined />} onClick={() => setDialog("new")}>
                {t("create.open")}
              </Button>
              <Button icon={<CalendarOutlined />} onClick={() => setDialog("workOrders")}>
                {t("workOrders.open")}
              </Button>
              <Button
                type="primary"
                icon={<ThunderboltOutlined />}
                disabled={!schedule}
                onClick={() => setDialog("rush")}
              >
                {t("rush.open")}
              </Button>
            </Space>
          ) : null}
        </Space>
      </Card>
      <Tabs
        activeKey={tab}
        onChange={(key) => update({ tab: key === "whatif" ? "whatif" : null })}
        items={[
          {
            key: "gantt",
            label: t("tabs.gantt"),
            children: (
              <QueryState
                fetching={list.fetching || current.fetching}
                error={list.error ?? current.error}
                hasData={!!schedule}
                empty={t("noSchedules")}
                rows={8}
              >
                {schedule ? <ScheduleView schedule={schedule} /> : null}
              </QueryState>
            ),
          },
          {
            key: "whatif",
            label: t("tabs.whatif"),
            children: (
              <QueryState
                fetching={list.fetching}
                error={list.error}
                hasData={schedules.length > 0}
                empty={t("noSchedules")}
              >
                <WhatIfPanel
                  schedules={schedules}
                  baselineId={selectedId}
                  compare={compare}
                  onCompare={(ids) => update({ compare: ids.join(",") || null, tab: "whatif" })}
                  canManage={canManage}
                />
              </QueryState>
            ),
          },
        ]}
      />
      {canManage ? (
        <>
          <NewScheduleModal
            factoryId={factoryId}
            open={dialog === "new"}
            onClose={() => setDialog(null)}
            onDone={created}
          />
          <WorkOrdersModal
            factoryId={factoryId}
            open={dialog === "workOrders"}
            onClose={() => setDialog(null)}
            onDone={created}
          />
          {schedule ? (
            <RushJobModal
              schedule={schedule}
              open={dialog === "rush"}
              onClose={() => setDialog(null)}
              onDone={created}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}
