import { Card, Input, Select, Space, Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { DeadLettersTable } from "./DeadLettersTable";
import { DevicesTabs } from "./DevicesTabs";

const SOURCES = ["mqtt", "http"];

export default function DeadLettersPage() {
  const { t } = useTranslation("devices");
  const [params, setParams] = useSearchParams();
  const reason = params.get("reason");
  const deviceKey = params.get("device");
  const source = params.get("source");
  const [reasonText, setReasonText] = useState(reason ?? "");
  const [deviceText, setDeviceText] = useState(deviceKey ?? "");
  useEffect(() => setReasonText(reason ?? ""), [reason]);
  useEffect(() => setDeviceText(deviceKey ?? ""), [deviceKey]);

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  return (
    <>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t("deadLetters.title")}
      </Typography.Title>
      <DevicesTabs active="deadLetters" />
      <Card>
        <Typography.Paragraph type="secondary">{t("deadLetters.intro")}</Typography.Paragraph>
        <Space wrap style={{ marginBottom: 16 }}>
          <Input.Search
            aria-label={t("deadLetters.reason")}
            placeholder={t("deadLetters.reasonPlaceholder")}
            allowClear
            value={reasonText}
            onChange={(event) => setReasonText(event.target.value)}
            onSearch={(value) => setParam("reason", value.trim() || null)}
            style={{ width: 220 }}
          />
          <Input.Search
            aria-label={t("deadLetters.device")}
            placeholder={t("deadLetters.devicePlaceholder")}
            allowClear
            value={deviceText}
            onChange={(event) => setDeviceText(event.target.value)}
            onSearch={(value) => setParam("device", value.trim() || null)}
            style={{ width: 240 }}
          />
          <Select
            aria-label={t("deadLetters.source")}
            value={source ?? ""}
            onChange={(value: string) => setParam("source", value || null)}
            options={[
              { value: "", label: t("deadLetters.allSources") },
              ...SOURCES.map((value) => ({ value, label: value.toUpperCase() })),
            ]}
            style={{ width: 140 }}
          />
        </Space>
        <DeadLettersTable
          filter={{ reason, deviceKey, source }}
          onReason={(value) => setParam("reason", value)}
        />
      </Card>
    </>
  );
}
