import { FolderOpenOutlined, InboxOutlined, UploadOutlined } from "@ant-design/icons";
import {
  Alert,
  AutoComplete,
  Button,
  Card,
  Col,
  Descriptions,
  Form,
  Input,
  Progress,
  Result,
  Row,
  Space,
  Steps,
  Tag,
  Typography,
  Upload,
} from "antd";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useQuery, useSubscription } from "urql";
import { authFetch } from "../../api/authFetch";
import { useAuth } from "../../auth/AuthContext";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { VisionTrainingProgressSubscription } from "../../gql/node/graphql";
import { megabytes } from "./labels";
import {
  defectClass,
  fileKey,
  isImage,
  isMask,
  type LabelledFile,
  LIMITS,
  newProgressKey,
  type Problem,
  progressPercent,
  restError,
  type Stage,
  summarize,
  trainingForm,
} from "./training";
import { FactorySelect, useVisionFactory } from "./useVisionFactory";
import { VisionNav } from "./VisionNav";

const TrainingProgress = graphql(`
  subscription VisionTrainingProgress($key: UUID!) {
    visionTrainingProgress(key: $key) {
      stage
      done
      total
      modelId
      error
    }
  }
`);

const TrainSkus = graphql(`
  query VisionTrainSkus($factoryId: UUID!) {
    visionModels(factoryId: $factoryId) {
      id
      sku
    }
  }
`);

type Step = VisionTrainingProgressSubscription["visionTrainingProgress"];

interface Outcome {
  modelId?: string | null;
  number?: number;
  error?: { message: string; code: string };
}

const STAGES: Stage[] = ["UPLOADING", "DECODING", "FITTING", "CALIBRATING", "STORING", "DONE"];

/** Waits a moment after subscribing, so the node knows the job's key before the upload starts. */
const SUBSCRIBE_HEAD_START_MS = 800;

function ProblemText({ problem }: { problem: Problem }) {
  const { t } = useTranslation("vision");
  const format = useFormat();
  switch (problem.kind) {
    case "noGood":
      return <>{t("train.problems.noGood")}</>;
    case "tooMany":
      return (
        <>
          {t("train.problems.tooMany", {
            count: problem.count,
            max: format.number(problem.max),
          })}
        </>
      );
    case "imageTooLarge":
      return (
        <>
          {t("train.problems.imageTooLarge", {
            name: problem.name,
            size: format.number(megabytes(problem.bytes)),
            max: format.number(megabytes(problem.max)),
          })}
        </>
      );
    case "uploadTooLarge":
      return (
        <>
          {t("train.problems.uploadTooLarge", {
            size: format.number(megabytes(problem.bytes)),
            max: format.number(megabytes(problem.max)),
          })}
        </>
      );
    case "badClass":
      return <>{t("train.problems.badClass", { label: problem.label })}</>;
  }
}

/** A folder dropper and a file picker side by side, feeding the same list. */
function ImagePicker({
  id,
  label,
  hint,
  onFiles,
}: {
  id: string;
  label: string;
  hint: string;
  onFiles: (files: File[]) => void;
}) {
  const { t } = useTranslation("vision");
  // antd calls beforeUpload once per file; the files are kept here, nothing is sent by antd.
  const take = (file: File) => {
    onFiles([file]);
    return false;
  };
  return (
    <Space orientation="vertical" style={{ width: "100%" }}>
      <Upload.Dragger
        directory
        multiple
        showUploadList={false}
        beforeUpload={take}
        accept="image/*"
        aria-label={label}
        data-testid={`${id}-folder`}
      >
        <p className="ant-upload-drag-icon">
          <InboxOutlined />
        </p>
        <p className="ant-upload-text">
          <FolderOpenOutlined /> {label}
        </p>
        <p className="ant-upload-hint">{hint}</p>
      </Upload.Dragger>
      <Upload multiple showUploadList={false} beforeUpload={take} accept="image/*">
        <Button icon={<UploadOutlined />} data-testid={`${id}-files`}>
          {t("train.pickFiles")}
        </Button>
      </Upload>
    </Space>
  );
}

export default function TrainPage() {
  const { t } = useTranslation("vision");
  const format = useFormat();
  const viewer = useViewer();
  const { session } = useAuth();
  const picker = useVisionFactory();
  const factoryId = picker.factoryId;
  const [skus] = useQuery({
    query: TrainSkus,
    variables: { factoryId: factoryId ?? "" },
    pause: !factoryId,
  });
  const [sku, setSku] = useState("");
  const [defectLabel, setDefectLabel] = useState("defect");
  const [good, setGood] = useState<Map<string, File>>(new Map());
  const [defects, setDefects] = useState<Map<string, LabelledFile<File>>>(new Map());
  const [ignored, setIgnored] = useState(0);
  const [key, setKey] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [{ data: progress }] = useSubscription(
    { query: TrainingProgress, variables: { key: key ?? "" }, pause: !key },
    (_previous: Step | undefined, event) => event.visionTrainingProgress,
  );
  // The steps the node told of, in order (kept for the record; the bar shows the latest).
  const [heard, setHeard] = useState<Stage[]>([]);
  useEffect(() => {
    if (progress)
      setHeard((stages) =>
        stages.includes(progress.stage) ? stages : [...stages, progress.stage],
      );
  }, [progress]);

  const fetcher = useMemo(() => authFetch(session.tokens, () => session.tokens.clear()), [session]);
  const set = useMemo(
    () => ({ good: [...good.values()], defects: [...defects.values()] }),
    [good, defects],
  );
  const summary = useMemo(() => summarize(set), [set]);
  const skuOptions = [...new Set((skus.data?.visionModels ?? []).map((m) => m.sku))].map((s) => ({
    value: s,
  }));
  const running = uploading || (key !== null && outcome === null);
  const canSubmit = !!factoryId && sku.trim() !== "" && summary.problems.length === 0 && !running;

  const addGood = (files: File[]) => {
    const images = files.filter((f) => isImage(f) && !isMask(f));
    setIgnored((n) => n + files.length - images.length);
    setGood((current) => {
      const next = new Map(current);
      for (const f of images) next.set(fileKey(f), f);
      return next;
    });
  };
  const addDefects = (files: File[]) => {
    const labelled: LabelledFile<File>[] = [];
    let skipped = 0;
    for (const file of files) {
      const label = isImage(file) && !isMask(file) ? defectClass(file, defectLabel) : null;
      if (label) labelled.push({ label, file });
      else skipped += 1;
    }
    setIgnored((n) => n + skipped);
    setDefects((current) => {
      const next = new Map(current);
      for (const item of labelled) next.set(fileKey(item.file), item);
      return next;
    });
  };
  const clear = () => {
    setGood(new Map());
    setDefects(new Map());
    setIgnored(0);
    setOutcome(null);
    setKey(null);
  };

  const train = async () => {
    if (!factoryId) return;
    const progressKey = newProgressKey();
    setOutcome(null);
    setHeard([]);
    setKey(progressKey);
    setUploading(true);
    try {
      await new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_HEAD_START_MS));
      const form = trainingForm({ factoryId, sku: sku.trim(), progressKey }, set);
      const response = await fetcher(new URL("/api/v1/vision/models", window.location.href), {
        method: "POST",
        body: form,
      });
      const body: unknown = await response.json().catch(() => null);
      if (response.ok) {
        const model = body as { id: string; number: number };
        setOutcome({ modelId: model.id, number: model.number });
      } else {
        setOutcome({ error: restError(response.status, body) });
      }
    } catch (error) {
      setOutcome({
        error: {
          message: error instanceof Error ? error.message : String(error),
          code: "NETWORK_ERROR",
        },
      });
    } finally {
      setUploading(false);
    }
  };

  const step: { stage: Stage; done: number; total: number } = outcome
    ? { stage: outcome.error ? "FAILED" : "DONE", done: 1, total: 1 }
    : progress
      ? progress
      : { stage: "UPLOADING", done: uploading ? 0 : 0, total: 1 };
  const current = step.stage === "FAILED" ? STAGES.length - 1 : STAGES.indexOf(step.stage);
  const query = factoryId ? `?factory=${encodeURIComponent(factoryId)}` : "";
  const failure =
    outcome?.error ??
    (progress?.stage === "FAILED"
      ? { message: progress.error ?? "", code: progress.error ?? "" }
      : null);

  return (
    <>
      <Typography.Title level={2}>{t("train.title")}</Typography.Title>
      <VisionNav />
      {viewer.can.trainVisionModels === false ? (
        <Alert type="info" showIcon title={t("train.notAllowed")} />
      ) : (
        <QueryState fetching={picker.fetching} error={picker.error} hasData={!!factoryId}>
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={14}>
              <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("train.images")}</h3>}>
                <Form layout="vertical">
                  <Form.Item label={t("factory.label")} htmlFor="vision-train-factory">
                    <FactorySelect
                      factories={picker.factories}
                      value={factoryId}
                      onChange={picker.setFactoryId}
                    />
                  </Form.Item>
                  <Form.Item label={t("train.sku")} htmlFor="vision-train-sku" required>
                    <AutoComplete
                      id="vision-train-sku"
                      options={skuOptions}
                      value={sku}
                      onChange={setSku}
                      placeholder={t("train.skuPlaceholder")}
                      style={{ maxWidth: 320 }}
                    />
                  </Form.Item>
                  <Form.Item label={t("train.good")}>
                    <ImagePicker
                      id="train-good"
                      label={t("train.dropGood")}
                      hint={t("train.dropGoodHint")}
                      onFiles={addGood}
                    />
                  </Form.Item>
                  <Form.Item label={t("train.defects")}>
                    <Space orientation="vertical" style={{ width: "100%" }}>
                      <Input
                        aria-label={t("train.defectClass")}
                        addonBefore={t("train.defectClass")}
                        value={defectLabel}
                        onChange={(e) => setDefectLabel(e.target.value.trim().toLowerCase())}
                        style={{ maxWidth: 320 }}
                      />
                      <ImagePicker
                        id="train-defects"
                        label={t("train.dropDefects")}
                        hint={t("train.dropDefectsHint")}
                        onFiles={addDefects}
                      />
                    </Space>
                  </Form.Item>
                </Form>
              </Card>
            </Col>
            <Col xs={24} xl={10}>
              <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("train.summary")}</h3>}>
                <Descriptions column={1} size="small">
                  <Descriptions.Item label={t("train.goodCount")}>
                    <span data-testid="train-good-count">{format.number(summary.good)}</span>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("train.defectCount")}>
                    {summary.classes.length > 0
                      ? summary.classes.map((c) => (
                          <Tag key={c.label}>
                            {c.label}: {format.number(c.count)}
                          </Tag>
                        ))
                      : "—"}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("train.total")}>
                    {t("train.totalOf", {
                      images: format.number(summary.images),
                      maxImages: format.number(LIMITS.maxImages),
                      size: format.number(megabytes(summary.bytes)),
                      maxSize: format.number(megabytes(LIMITS.maxUploadBytes)),
                    })}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("train.perImage")}>
                    {t("train.perImageLimit", {
                      max: format.number(megabytes(LIMITS.maxImageBytes)),
                    })}
                  </Descriptions.Item>
                  {ignored > 0 ? (
                    <Descriptions.Item label={t("train.ignored")}>
                      {format.number(ignored)}
                    </Descriptions.Item>
                  ) : null}
                </Descriptions>
                {summary.problems.length > 0 && summary.images > 0 ? (
                  <Alert
                    type="warning"
                    showIcon
                    style={{ marginTop: 12 }}
                    title={t("train.problems.title")}
                    description={
                      <ul style={{ margin: 0, paddingInlineStart: 18 }}>
                        {summary.problems.map((p) => (
                          <li key={JSON.stringify(p)}>
                            <ProblemText problem={p} />
                          </li>
                        ))}
                      </ul>
                    }
                  />
                ) : null}
                <Space style={{ marginTop: 16 }}>
                  <Button type="primary" disabled={!canSubmit} loading={running} onClick={train}>
                    {t("train.start")}
                  </Button>
                  <Button onClick={clear} disabled={running}>
                    {t("train.clear")}
                  </Button>
                </Space>
              </Card>
              {key ? (
                <Card
                  style={{ marginTop: 16 }}
                  title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("train.progress")}</h3>}
                >
                  <Progress
                    percent={progressPercent(step)}
                    status={failure ? "exception" : outcome ? "success" : "active"}
                    aria-label={t("train.progress")}
                  />
                  <Steps
                    orientation="vertical"
                    size="small"
                    current={current}
                    status={failure ? "error" : outcome ? "finish" : "process"}
                    items={STAGES.map((stage) => ({
                      title: t(`train.stages.${stage}`),
                      content:
                        stage === step.stage && step.total > 1 && !outcome
                          ? t("train.stepCount", {
                              done: format.number(step.done),
                              total: format.number(step.total),
                            })
                          : undefined,
                    }))}
                  />
                  <div
                    role="status"
                    aria-live="polite"
                    data-testid="train-status"
                    data-heard={heard.join(" ")}
                  >
                    {outcome?.modelId ? (
                      <Result
                        status="success"
                        title={t("train.done", { sku: sku.trim(), number: outcome.number })}
                        extra={
                          <Link to={`/vision/models/${outcome.modelId}${query}`}>
                            {t("train.openModel")}
                          </Link>
                        }
                      />
                    ) : failure ? (
                      <Alert
                        type="error"
                        showIcon
                        title={t("train.failed")}
                        description={
                          <>
                            {failure.message} <code>{failure.code}</code>
                          </>
                        }
                      />
                    ) : (
                      <Typography.Text>{t(`train.stages.${step.stage}`)}</Typography.Text>
                    )}
                  </div>
                </Card>
              ) : null}
            </Col>
          </Row>
        </QueryState>
      )}
    </>
  );
}
