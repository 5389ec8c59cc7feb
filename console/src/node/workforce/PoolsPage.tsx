import {
  Alert,
  Button,
  Card,
  Checkbox,
  Col,
  Form,
  Input,
  InputNumber,
  Popconfirm,
  Row,
  Table,
  Tag,
  Typography,
} from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { WorkforceWorkersQuery } from "../../gql/node/graphql";
import { checkWorker, type FormProblem, SHIFTS, type WorkerDraft } from "./shaping";
import { Field, Refusal, WorkforceNav } from "./WorkforceNav";

const WorkforceWorkersDocument = graphql(`
  query WorkforceWorkers {
    workforceWorkers(first: 100) {
      totalCount
      edges {
        node {
          id
          employer
          pseudonym
          skills {
            skill
            level
          }
          certificates
          safetyTrained
          availableFrom
          availableTo
          shifts
          homeArea
          radiusKm
          wageFloor
          team
        }
      }
    }
  }
`);

const PostWorkersDocument = graphql(`
  mutation PostWorkers($workers: [WorkforceWorkerInput!]!) {
    postWorkers(workers: $workers) {
      __typename
      ... on PostWorkersSuccess {
        workers {
          id
          pseudonym
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const WorkerContactDocument = graphql(`
  query WorkforceWorkerContact($workerId: UUID!) {
    workforceWorkerContact(workerId: $workerId) {
      name
      phone
      email
    }
  }
`);

const DeleteWorkerDocument = graphql(`
  mutation DeleteWorker($id: UUID!) {
    deleteWorker(id: $id) {
      __typename
      ... on DeleteWorkerSuccess {
        id
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const PurgeWorkforceDocument = graphql(`
  mutation PurgeWorkforce($retentionDays: Int!) {
    purgeWorkforce(retentionDays: $retentionDays) {
      __typename
      ... on PurgeWorkforceSuccess {
        deleted
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

type Worker = WorkforceWorkersQuery["workforceWorkers"]["edges"][number]["node"];

const EMPTY: WorkerDraft = {
  pseudonym: "",
  name: "",
  skills: "",
  certificates: "",
  safetyTrained: false,
  availableFrom: "",
  availableTo: "",
  shifts: ["day"],
  homeArea: "",
  lat: null,
  lon: null,
  radiusKm: 30,
  wageFloor: null,
  team: "",
  phone: "",
  email: "",
};

/** The employer-only part: a worker's name and contact, asked for on demand. */
function ContactCell({ workerId }: { workerId: string }) {
  const { t } = useTranslation("workforce");
  const [shown, setShown] = useState(false);
  const [{ data, error, fetching }] = useQuery({
    query: WorkerContactDocument,
    variables: { workerId },
    pause: !shown,
  });
  if (!shown) {
    return (
      <Button size="small" onClick={() => setShown(true)}>
        {t("pools.showContact")}
      </Button>
    );
  }
  if (fetching) return <>…</>;
  if (error)
    return (
      <Typography.Text type="danger">
        {error.graphQLErrors[0]?.message ?? error.message}
      </Typography.Text>
    );
  const contact = data?.workforceWorkerContact;
  return contact ? (
    <span>
      {contact.name} {contact.phone ?? ""} {contact.email ?? ""}
    </span>
  ) : null;
}

/**
 * The retention purge, by hand (the node also runs it daily by itself): workers whose
 * availability ended more than the days given ago go. The node's operator may; the API says so.
 */
function Purge({ onPurged }: { onPurged: () => void }) {
  const { t } = useTranslation("workforce");
  const [days, setDays] = useState<number | null>(180);
  const [purging, purge] = useMutation(PurgeWorkforceDocument);
  const [outcome, setOutcome] = useState<number | null>(null);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const run = async () => {
    setOutcome(null);
    setRefusal(null);
    setFailure(null);
    const result = await purge({ retentionDays: days ?? 180 });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.purgeWorkforce;
    if (answer?.__typename === "PurgeWorkforceSuccess") {
      setOutcome(answer.deleted);
      onPurged();
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };
  const code = failure?.graphQLErrors[0]?.extensions?.code;
  return (
    <Card title={t("purge.title")} style={{ marginBottom: 16 }} data-testid="workforce-purge">
      <Typography.Paragraph type="secondary">{t("purge.intro")}</Typography.Paragraph>
      <Form layout="inline" onFinish={run}>
        <Form.Item label={t("purge.days")} htmlFor="purge-days">
          <InputNumber<number>
            id="purge-days"
            min={0}
            max={3650}
            value={days}
            onChange={(v) => setDays(v)}
          />
        </Form.Item>
        <Button danger htmlType="submit" loading={purging.fetching}>
          {t("purge.run")}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Refusal refusal={refusal} />
        {failure ? (
          <Alert
            type="error"
            showIcon
            title={failure.graphQLErrors[0]?.message ?? failure.message}
            description={typeof code === "string" ? <code>{code}</code> : undefined}
          />
        ) : null}
        {outcome !== null ? (
          <Alert
            type="success"
            showIcon
            role="status"
            title={t("purge.done", { count: outcome })}
          />
        ) : null}
      </div>
    </Card>
  );
}

/** An employer's pool: its workers' pseudonymous profiles, and a form to post one more. */
export default function PoolsPage() {
  const { t } = useTranslation("workforce");
  const format = useFormat();
  const [{ data, fetching, error }, refresh] = useQuery({ query: WorkforceWorkersDocument });
  const [posting, post] = useMutation(PostWorkersDocument);
  const [draft, setDraft] = useState<WorkerDraft>(EMPTY);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [posted, setPosted] = useState<string | null>(null);
  const [deleting, remove] = useMutation(DeleteWorkerDocument);
  const [deleted, setDeleted] = useState<string | null>(null);
  const rows = data?.workforceWorkers.edges.map((edge) => edge.node) ?? [];
  const set = <K extends keyof WorkerDraft>(key: K, value: WorkerDraft[K]) =>
    setDraft((was) => ({ ...was, [key]: value }));

  const submit = async () => {
    setRefusal(null);
    setFailure(null);
    setPosted(null);
    const { input, problems: found } = checkWorker(draft);
    setProblems(found);
    if (!input) return;
    const result = await post({ workers: [input] });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.postWorkers;
    if (answer?.__typename === "PostWorkersSuccess") {
      setPosted(input.pseudonym);
      setDraft(EMPTY);
      refresh({ requestPolicy: "network-only" });
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };

  /** On the worker's request: everything about them goes (the API decides who may). */
  const deleteWorker = async (worker: Worker) => {
    setRefusal(null);
    setFailure(null);
    setDeleted(null);
    const result = await remove({ id: worker.id });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.deleteWorker;
    if (answer?.__typename === "DeleteWorkerSuccess") {
      setDeleted(worker.pseudonym);
      refresh({ requestPolicy: "network-only" });
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };

  return (
    <>
      <Typography.Title level={2}>{t("pools.title")}</Typography.Title>
      <WorkforceNav />
      <Typography.Paragraph type="secondary">{t("pools.intro")}</Typography.Paragraph>
      <Card style={{ marginBottom: 16 }}>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("pools.empty")}
        >
          <Table<Worker>
            data-testid="workforce-workers"
            rowKey="id"
            size="small"
            pagination={false}
            dataSource={rows}
            scroll={{ x: 1100 }}
            columns={[
              { title: t("field.pseudonym"), dataIndex: "pseudonym" },
              { title: t("pools.employer"), dataIndex: "employer" },
              {
                title: t("field.skills"),
                dataIndex: "skills",
                render: (skills: Worker["skills"]) =>
                  skills.map((s) => <Tag key={s.skill}>{t("pools.skillLevel", s)}</Tag>),
              },
              {
                title: t("field.certificates"),
                key: "certificates",
                render: (_: unknown, w) =>
                  [...w.certificates, ...(w.safetyTrained ? [t("pools.safety")] : [])].join(", ") ||
                  "—",
              },
              {
                title: t("pools.available"),
                key: "available",
                render: (_: unknown, w) =>
                  `${format.date(w.availableFrom)} – ${format.date(w.availableTo)}`,
              },
              {
                title: t("field.shifts"),
                dataIndex: "shifts",
                render: (shifts: string[]) => shifts.map((s) => t(`shift.${s}`)).join(", "),
              },
              {
                title: t("field.homeArea"),
                key: "home",
                render: (_: unknown, w) => t("pools.within", { area: w.homeArea, km: w.radiusKm }),
              },
              {
                title: t("field.wageFloor"),
                dataIndex: "wageFloor",
                align: "right",
                render: (value: number) => format.number(value),
              },
              { title: t("field.team"), dataIndex: "team", render: (v: string | null) => v ?? "—" },
              {
                title: t("pools.contact"),
                key: "contact",
                render: (_: unknown, w) => <ContactCell workerId={w.id} />,
              },
              {
                title: t("pools.onRequest"),
                key: "delete",
                render: (_: unknown, w) => (
                  <Popconfirm
                    title={t("pools.deleteConfirm", { pseudonym: w.pseudonym })}
                    okText={t("pools.delete")}
                    cancelText={t("pools.keep")}
                    okButtonProps={{ danger: true, loading: deleting.fetching }}
                    onConfirm={() => deleteWorker(w)}
                  >
                    <Button size="small" danger data-testid={`delete-${w.pseudonym}`}>
                      {t("pools.delete")}
                    </Button>
                  </Popconfirm>
                ),
              },
            ]}
          />
        </QueryState>
        {deleted ? (
          <Alert
            type="success"
            showIcon
            role="status"
            style={{ marginTop: 16 }}
            title={t("pools.deleted", { pseudonym: deleted })}
          />
        ) : null}
      </Card>
      <Purge onPurged={() => refresh({ requestPolicy: "network-only" })} />
      <Card title={t("pools.post")}>
        <Form layout="vertical" onFinish={submit}>
          <Row gutter={16}>
            <Col xs={24} md={8}>
              <Field name="pseudonym" problems={problems}>
                <Input value={draft.pseudonym} onChange={(e) => set("pseudonym", e.target.value)} />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="skills" problems={problems}>
                <Input
                  placeholder="sewing:4, overlock:3"
                  value={draft.skills}
                  onChange={(e) => set("skills", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="certificates" problems={problems}>
                <Input
                  placeholder="forklift"
                  value={draft.certificates}
                  onChange={(e) => set("certificates", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={12} md={6}>
              <Field name="availableFrom" problems={problems}>
                <Input
                  type="date"
                  value={draft.availableFrom}
                  onChange={(e) => set("availableFrom", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={12} md={6}>
              <Field name="availableTo" problems={problems}>
                <Input
                  type="date"
                  value={draft.availableTo}
                  onChange={(e) => set("availableTo", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={24} md={12}>
              <Field name="shifts" problems={problems}>
                <Checkbox.Group
                  value={draft.shifts}
                  onChange={(value) => set("shifts", value as string[])}
                  options={SHIFTS.map((s) => ({ value: s, label: t(`shift.${s}`) }))}
                />
              </Field>
            </Col>
            <Col xs={24} md={6}>
              <Field name="homeArea" problems={problems}>
                <Input value={draft.homeArea} onChange={(e) => set("homeArea", e.target.value)} />
              </Field>
            </Col>
            <Col xs={12} md={4}>
              <Field name="lat" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.lat}
                  onChange={(v) => set("lat", v)}
                />
              </Field>
            </Col>
            <Col xs={12} md={4}>
              <Field name="lon" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.lon}
                  onChange={(v) => set("lon", v)}
                />
              </Field>
            </Col>
            <Col xs={12} md={5}>
              <Field name="radiusKm" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.radiusKm}
                  onChange={(v) => set("radiusKm", v)}
                />
              </Field>
            </Col>
            <Col xs={12} md={5}>
              <Field name="wageFloor" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.wageFloor}
                  onChange={(v) => set("wageFloor", v)}
                />
              </Field>
            </Col>
            <Col xs={24} md={6}>
              <Field name="team" problems={problems}>
                <Input value={draft.team} onChange={(e) => set("team", e.target.value)} />
              </Field>
            </Col>
            <Col xs={24} md={6}>
              <Checkbox
                checked={draft.safetyTrained}
                onChange={(e) => set("safetyTrained", e.target.checked)}
                style={{ marginTop: 30 }}
              >
                {t("field.safetyTrained")}
              </Checkbox>
            </Col>
          </Row>
          <Typography.Title level={5}>{t("pools.private")}</Typography.Title>
          <Row gutter={16}>
            <Col xs={24} md={8}>
              <Field name="name" problems={problems}>
                <Input value={draft.name} onChange={(e) => set("name", e.target.value)} />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="phone" problems={problems}>
                <Input value={draft.phone} onChange={(e) => set("phone", e.target.value)} />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="email" problems={problems}>
                <Input value={draft.email} onChange={(e) => set("email", e.target.value)} />
              </Field>
            </Col>
          </Row>
          <Refusal refusal={refusal} />
          {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
          {posted ? (
            <Alert
              type="success"
              showIcon
              role="status"
              title={t("pools.posted", { pseudonym: posted })}
            />
          ) : null}
          <Button
            type="primary"
            htmlType="submit"
            loading={posting.fetching}
            style={{ marginTop: 16 }}
          >
            {t("pools.submit")}
          </Button>
        </Form>
      </Card>
    </>
  );
}
