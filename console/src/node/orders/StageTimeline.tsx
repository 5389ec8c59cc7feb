import { Steps } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";
import { stageSteps } from "./shaping";

/** The twelve stages: done, current, waiting; when each was reached. */
export function StageTimeline({
  stage,
  progress,
}: {
  stage: string;
  progress: readonly { stage: string; reached: boolean; at?: string | null }[];
}) {
  const { t } = useTranslation("orders");
  const { locale } = useFormat();
  const short = useMemo(
    () =>
      new Intl.DateTimeFormat(locale, {
        month: "numeric",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      }),
    [locale],
  );
  const { current, steps } = stageSteps(stage, progress);
  return (
    <section
      style={{ overflowX: "auto" }}
      data-testid="order-timeline"
      data-stage={stage}
      aria-label={t("timeline.label", { stage: t(`stages.${stage}`) })}
    >
      <Steps
        size="small"
        titlePlacement="vertical"
        current={current}
        style={{ minWidth: 1000 }}
        items={steps.map((step) => ({
          key: step.stage,
          title: t(`stages.${step.stage}`),
          status: step.status,
          content: step.at ? short.format(new Date(step.at)) : undefined,
        }))}
      />
    </section>
  );
}
