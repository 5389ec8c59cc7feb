import { List, Tag, Tooltip, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";
import { regionLabel } from "../../components/provinces";
import type { NodeEvent } from "./useNodeEvents";

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation("nodes");
  return (
    <Tag color={status === "ONLINE" ? "success" : "error"} data-testid="node-status">
      {t(`status.${status}`)}
    </Tag>
  );
}

/** "3 minutes ago", with the exact time on hover and focus. */
export function When({ value }: { value: string | null | undefined }) {
  const format = useFormat();
  if (!value) return <>—</>;
  return (
    <Tooltip title={format.dateTime(value)}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the exact time shows on focus too */}
      <time dateTime={value} tabIndex={0}>
        {format.relative(value)}
      </time>
    </Tooltip>
  );
}

export function Region({ code }: { code: string }) {
  const { i18n } = useTranslation();
  return <span title={code}>{regionLabel(code, i18n.language)}</span>;
}

/** What the last live event said, e.g. "gd-injection-moulding went offline, 2 seconds ago". */
export function LatestEvent({ event }: { event: NodeEvent | null }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  return (
    <span aria-live="polite" data-testid="node-live">
      <Tag color="processing">{t("live.on")}</Tag>
      {event
        ? t(`live.${event.kind}`, { name: event.node.name, when: format.relative(event.at) })
        : t("live.waiting")}
    </span>
  );
}

/** The latest changes the hub announced while the page was open, newest first. */
export function RecentEvents({ events }: { events: NodeEvent[] }) {
  const { t } = useTranslation("nodes");
  const format = useFormat();
  if (events.length === 0) {
    return (
      <Typography.Text type="secondary" data-testid="node-events">
        {t("live.none")}
      </Typography.Text>
    );
  }
  return (
    <List
      data-testid="node-events"
      size="small"
      dataSource={events}
      renderItem={(event) => (
        <List.Item>
          <span>
            <Tag color={event.kind === "OFFLINE" ? "error" : "success"}>
              {t(`status.${event.kind === "OFFLINE" ? "OFFLINE" : "ONLINE"}`)}
            </Tag>
            {t(`live.${event.kind}`, { name: event.node.name, when: format.dateTime(event.at) })}
          </span>
        </List.Item>
      )}
    />
  );
}
