import { Progress, Table, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";
import type { OrderDetailQuery } from "../../gql/node/graphql";

type WorkOrder = OrderDetailQuery["order"]["workOrders"][number];

const STATUS_COLORS: Record<string, string> = {
  ISSUED: "default",
  CONFIRMED: "processing",
  MATERIALS_READY: "processing",
  IN_PRODUCTION: "processing",
  DONE: "success",
  CANCELLED: "error",
};

export function WorkOrdersTable({ workOrders }: { workOrders: readonly WorkOrder[] }) {
  const { t } = useTranslation("orders");
  const format = useFormat();
  return (
    <Table<WorkOrder>
      rowKey="id"
      size="small"
      dataSource={[...workOrders]}
      pagination={workOrders.length > 10 ? { pageSize: 10, hideOnSinglePage: true } : false}
      scroll={{ x: 900 }}
      data-testid="work-orders"
      columns={[
        { title: t("workOrders.factory"), key: "factory", render: (_, w) => w.factory.name },
        { title: t("workOrders.step"), dataIndex: "step" },
        { title: t("workOrders.process"), dataIndex: "process" },
        {
          title: t("workOrders.quantity"),
          dataIndex: "quantity",
          align: "right",
          render: (value: number) => format.number(value),
        },
        {
          title: t("workOrders.made"),
          key: "made",
          width: 160,
          render: (_, w) => (
            <Progress
              percent={w.quantity > 0 ? Math.min(100, Math.round((w.made / w.quantity) * 100)) : 0}
              size="small"
              format={() => format.number(w.made)}
              aria-label={t("workOrders.madeOf", {
                made: format.number(w.made),
                quantity: format.number(w.quantity),
              })}
            />
          ),
        },
        {
          title: t("workOrders.scrapped"),
          dataIndex: "scrapped",
          align: "right",
          render: (value: number) => format.number(value),
        },
        {
          title: t("workOrders.dates"),
          key: "dates",
          render: (_, w) => `${format.date(w.startDate)} – ${format.date(w.endDate)}`,
        },
        {
          title: t("workOrders.status"),
          dataIndex: "status",
          render: (value: string) => (
            <Tag color={STATUS_COLORS[value]}>{t(`workOrderStatus.${value}`)}</Tag>
          ),
        },
      ]}
    />
  );
}
