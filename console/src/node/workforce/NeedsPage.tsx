import {
  Alert,
  Button,
  Card,
  Checkbox,
  Col,
  Form,
  Input,
  InputNumber,
  Row,
  Space,
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
import type { WorkforceNeedsQuery } from "../../gql/node/graphql";
import { checkNeed, type FormProblem, headcountText, type NeedDraft, SHIFTS } from "./shaping";
import { Field, Refusal, WorkforceNav } from "./WorkforceNav";

const WorkforceNeedsDocument = graphql(`
  query WorkforceNeeds {
    workforceNeeds(first: 100) {
      totalCount
      edges {
        node {
          id
          factory
          title
          siteArea
          skill
          minLevel
          certificates
          firstDay
          lastDay
          headcount {
            shift
            workers
          }
          wage
          priority
          safetyTraining
          keepTeam
          housing
          transport
          status
        }
      }
    }
  }
`);

const PostNeedDocument = graphql(`
  mutation PostWorkforceNeed($input: WorkforceNeedInput!) {
    postWorkforceNeed(input: $input) {
      __typename
      ... on PostWorkforceNeedSuccess {
        need {
          id
          title
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const CloseNeedDocument = graphql(`
  mutation CloseWorkforceNeed($id: UUID!) {
    closeWorkforceNeed(id: $id) {
      __typename
      ... on CloseWorkforceNeedSuccess {
        need {
          id
          status
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

type Need = WorkforceNeedsQuery["workforceNeeds"]["edges"][number]["node"];

const EMPTY: NeedDraft = {
  title: "",
  siteArea: "",
  lat: null,
  lon: null,
  skill: "",
  minLevel: 1,
  certificates: "",
  firstDay: "",
  lastDay: "",
  headcount: { day: null, evening: null, night: null },
  wage: null,
  priority: 1,
  safetyTraining: false,
  keepTeam: false,
  housing: false,
  transport: false,
};

/** A factory's needs for workers, and a form to post one. */
export default function NeedsPage() {
  const { t } = useTranslation("workforce");
  const format = useFormat();
  const [{ data, fetching, error }, refresh] = useQuery({ query: WorkforceNeedsDocument });
  const [posting, post] = useMutation(PostNeedDocument);
  const [, close] = useMutation(CloseNeedDocument);
  const [draft, setDraft] = useState<NeedDraft>(EMPTY);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [posted, setPosted] = useState<string | null>(null);
  const rows = data?.workforceNeeds.edges.map((edge) => edge.node) ?? [];
  const set = <K extends keyof NeedDraft>(key: K, value: NeedDraft[K]) =>
    setDraft((was) => ({ ...was, [key]: value }));

  const submit = async () => {
    setRefusal(null);
    setFailure(null);
    setPosted(null);
    const { input, problems: found } = checkNeed(draft);
    setProblems(found);
    if (!input) return;
    const result = await post({ input });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.postWorkforceNeed;
    if (answer?.__typename === "PostWorkforceNeedSuccess") {
      setPosted(answer.need.title);
      setDraft(EMPTY);
      refresh({ requestPolicy: "network-only" });
    } else if (answer && "code" in answer) {
      setRefusal({ code: answer.code, message: answer.message });
    }
  };

  const closeNeed = async (id: string) => {
    setRefusal(null);
    setFailure(null);
    const result = await close({ id });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.closeWorkforceNeed;
    if (answer && "code" in answer) setRefusal({ code: answer.code, message: answer.message });
    else refresh({ requestPolicy: "network-only" });
  };

  return (
    <>
      <Typography.Title level={2}>{t("needs.title")}</Typography.Title>
      <WorkforceNav />
      <Typography.Paragraph type="secondary">{t("needs.intro")}</Typography.Paragraph>
      <Card style={{ marginBottom: 16 }}>
        <QueryState
          fetching={fetching}
          error={error}
          hasData={rows.length > 0}
          empty={t("needs.empty")}
        >
          <Table<Need>
            data-testid="workforce-needs"
            rowKey="id"
            size="small"
            pagination={false}
            dataSource={rows}
            scroll={{ x: 1100 }}
            columns={[
              { title: t("field.title"), dataIndex: "title" },
              { title: t("needs.factory"), dataIndex: "factory" },
              {
                title: t("field.skill"),
                key: "skill",
                render: (_: unknown, n) => (
                  <>
                    {t("pools.skillLevel", { skill: n.skill, level: n.minLevel })}
                    {n.certificates.map((c) => (
                      <Tag key={c}>{c}</Tag>
                    ))}
                  </>
                ),
              },
              {
                title: t("needs.dates"),
                key: "dates",
                render: (_: unknown, n) => `${format.date(n.firstDay)} – ${format.date(n.lastDay)}`,
              },
              {
                title: t("field.headcount"),
                dataIndex: "headcount",
                render: (headcount: Need["headcount"]) => headcountText(headcount),
              },
              { title: t("field.siteArea"), dataIndex: "siteArea" },
              {
                title: t("field.wage"),
                dataIndex: "wage",
                align: "right",
                render: (value: number) => format.number(value),
              },
              { title: t("field.priority"), dataIndex: "priority", align: "right" },
              {
                title: t("needs.offers"),
                key: "offers",
                render: (_: unknown, n) =>
                  (["safetyTraining", "keepTeam", "housing", "transport"] as const)
                    .filter((key) => n[key])
                    .map((key) => <Tag key={key}>{t(`field.${key}`)}</Tag>),
              },
              { title: t("needs.status"), dataIndex: "status" },
              {
                title: "",
                key: "close",
                render: (_: unknown, n) =>
                  n.status === "open" ? (
                    <Button size="small" onClick={() => closeNeed(n.id)}>
                      {t("needs.close")}
                    </Button>
                  ) : null,
              },
            ]}
          />
        </QueryState>
      </Card>
      <Card title={t("needs.post")}>
        <Form layout="vertical" onFinish={submit}>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Field name="title" problems={problems}>
                <Input value={draft.title} onChange={(e) => set("title", e.target.value)} />
              </Field>
            </Col>
            <Col xs={12} md={8}>
              <Field name="skill" problems={problems}>
                <Input
                  placeholder="sewing"
                  value={draft.skill}
                  onChange={(e) => set("skill", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={12} md={4}>
              <Field name="minLevel" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.minLevel}
                  onChange={(v) => set("minLevel", v)}
                />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="certificates" problems={problems}>
                <Input
                  value={draft.certificates}
                  onChange={(e) => set("certificates", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={12} md={8}>
              <Field name="firstDay" problems={problems}>
                <Input
                  type="date"
                  value={draft.firstDay}
                  onChange={(e) => set("firstDay", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={12} md={8}>
              <Field name="lastDay" problems={problems}>
                <Input
                  type="date"
                  value={draft.lastDay}
                  onChange={(e) => set("lastDay", e.target.value)}
                />
              </Field>
            </Col>
            <Col xs={24} md={12}>
              <Field name="headcount" problems={problems}>
                <Space wrap>
                  {SHIFTS.map((shift) => (
                    <Space key={shift} size={4}>
                      <Typography.Text>{t(`shift.${shift}`)}</Typography.Text>
                      <InputNumber<number>
                        aria-label={t("needs.headcountOf", { shift: t(`shift.${shift}`) })}
                        value={draft.headcount[shift] ?? null}
                        onChange={(v) => set("headcount", { ...draft.headcount, [shift]: v })}
                        style={{ width: 90 }}
                      />
                    </Space>
                  ))}
                </Space>
              </Field>
            </Col>
            <Col xs={12} md={6}>
              <Field name="wage" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.wage}
                  onChange={(v) => set("wage", v)}
                />
              </Field>
            </Col>
            <Col xs={12} md={6}>
              <Field name="priority" problems={problems}>
                <InputNumber<number>
                  style={{ width: "100%" }}
                  value={draft.priority}
                  onChange={(v) => set("priority", v)}
                />
              </Field>
            </Col>
            <Col xs={24} md={8}>
              <Field name="siteArea" problems={problems}>
                <Input value={draft.siteArea} onChange={(e) => set("siteArea", e.target.value)} />
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
            <Col xs={24} md={8}>
              <Space wrap style={{ marginTop: 30 }}>
                {(["safetyTraining", "keepTeam", "housing", "transport"] as const).map((key) => (
                  <Checkbox
                    key={key}
                    checked={draft[key]}
                    onChange={(e) => set(key, e.target.checked)}
                  >
                    {t(`field.${key}`)}
                  </Checkbox>
                ))}
              </Space>
            </Col>
          </Row>
          <Refusal refusal={refusal} />
          {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
          {posted ? (
            <Alert
              type="success"
              showIcon
              role="status"
              title={t("needs.posted", { title: posted })}
            />
          ) : null}
          <Button
            type="primary"
            htmlType="submit"
            loading={posting.fetching}
            style={{ marginTop: 16 }}
          >
            {t("needs.submit")}
          </Button>
        </Form>
      </Card>
    </>
  );
}
