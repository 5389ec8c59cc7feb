import {
  Alert,
  Button,
  Checkbox,
  Descriptions,
  Drawer,
  Form,
  Input,
  InputNumber,
  Rate,
  Select,
  Space,
  Table,
  Typography,
} from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { WorkforceRatingSide } from "../../gql/node/graphql";
import { checkAttendance, checkRating, type FormProblem } from "./shaping";
import { Field, Refusal } from "./WorkforceNav";

const AttendanceDocument = graphql(`
  query WorkforceAttendance($proposalId: UUID!) {
    workforceAttendance(proposalId: $proposalId) {
      proposalId
      hours
      payOwed
      days {
        day
        present
        hours
      }
    }
  }
`);

const RecordAttendanceDocument = graphql(`
  mutation RecordWorkforceAttendance(
    $proposalId: UUID!
    $day: Date!
    $present: Boolean!
    $hours: Float!
  ) {
    recordWorkforceAttendance(proposalId: $proposalId, day: $day, present: $present, hours: $hours) {
      __typename
      ... on RecordWorkforceAttendanceSuccess {
        attendance {
          day
          present
          hours
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const RateDocument = graphql(`
  mutation RateWorkforceAssignment(
    $proposalId: UUID!
    $side: WorkforceRatingSide!
    $score: Int!
    $comment: String!
  ) {
    rateWorkforceAssignment(proposalId: $proposalId, side: $side, score: $score, comment: $comment) {
      __typename
      ... on RateWorkforceAssignmentSuccess {
        rating {
          side
          score
        }
      }
      ... on WorkforceError {
        code
        message
      }
    }
  }
`);

const SIDES: WorkforceRatingSide[] = ["FACTORY_RATES_WORKER", "WORKER_RATES_FACTORY"];

type Refused = { code: string; message: string } | null;

/** An accepted proposal's attendance, pay owed and ratings, in a drawer. */
export function FollowUp({
  proposal,
  onClose,
}: {
  proposal: { id: string; pseudonym: string; days: { day: string }[] };
  onClose: () => void;
}) {
  const { t } = useTranslation("workforce");
  const format = useFormat();
  const [{ data, fetching, error }, refresh] = useQuery({
    query: AttendanceDocument,
    variables: { proposalId: proposal.id },
  });
  const [recording, record] = useMutation(RecordAttendanceDocument);
  const [rating, rate] = useMutation(RateDocument);
  const days = [...new Set(proposal.days.map((d) => d.day))];
  const [day, setDay] = useState<string | null>(days[0] ?? null);
  const [present, setPresent] = useState(true);
  const [hours, setHours] = useState<number | null>(8);
  const [side, setSide] = useState<WorkforceRatingSide>("FACTORY_RATES_WORKER");
  const [score, setScore] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<Refused>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const reset = () => {
    setRefusal(null);
    setFailure(null);
    setDone(null);
  };

  const submitAttendance = async () => {
    reset();
    const found = checkAttendance(days, day, present, hours);
    setProblems(found);
    if (found.length > 0 || day === null || hours === null) return;
    const result = await record({ proposalId: proposal.id, day, present, hours });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.recordWorkforceAttendance;
    if (answer && "code" in answer) setRefusal({ code: answer.code, message: answer.message });
    else {
      setDone(t("followUp.recorded", { day: format.date(day) }));
      refresh({ requestPolicy: "network-only" });
    }
  };

  const submitRating = async () => {
    reset();
    const found = checkRating(score, comment);
    setProblems(found);
    if (found.length > 0 || score === null) return;
    const result = await rate({ proposalId: proposal.id, side, score, comment });
    if (result.error) return setFailure(result.error);
    const answer = result.data?.rateWorkforceAssignment;
    if (answer && "code" in answer) setRefusal({ code: answer.code, message: answer.message });
    else setDone(t("followUp.rated"));
  };

  const attendance = data?.workforceAttendance;
  return (
    <Drawer
      open
      size="large"
      title={t("followUp.title", { pseudonym: proposal.pseudonym })}
      onClose={onClose}
    >
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <QueryState fetching={fetching} error={error} hasData={Boolean(attendance)}>
          {attendance ? (
            <>
              <Descriptions size="small" column={2}>
                <Descriptions.Item label={t("followUp.hours")}>
                  {format.number(attendance.hours)}
                </Descriptions.Item>
                <Descriptions.Item label={t("followUp.payOwed")}>
                  {format.number(attendance.payOwed, { maximumFractionDigits: 2 })}
                </Descriptions.Item>
              </Descriptions>
              <Table
                rowKey="day"
                size="small"
                pagination={false}
                dataSource={attendance.days}
                locale={{ emptyText: t("followUp.noDays") }}
                columns={[
                  {
                    title: t("field.day"),
                    dataIndex: "day",
                    render: (v: string) => format.date(v),
                  },
                  {
                    title: t("field.present"),
                    dataIndex: "present",
                    render: (v: boolean) => (v ? t("followUp.yes") : t("followUp.no")),
                  },
                  { title: t("field.hours"), dataIndex: "hours", align: "right" },
                ]}
              />
            </>
          ) : null}
        </QueryState>
        <Typography.Title level={5}>{t("followUp.record")}</Typography.Title>
        <Form layout="vertical" onFinish={submitAttendance}>
          <Space wrap align="start">
            <Field name="day" problems={problems}>
              <Select
                value={day}
                onChange={setDay}
                options={days.map((d) => ({ value: d, label: format.date(d) }))}
                style={{ minWidth: 160 }}
              />
            </Field>
            <Field name="present" problems={problems}>
              <Checkbox checked={present} onChange={(e) => setPresent(e.target.checked)} />
            </Field>
            <Field name="hours" problems={problems}>
              <InputNumber<number> value={hours} onChange={setHours} />
            </Field>
          </Space>
          <Button htmlType="submit" loading={recording.fetching}>
            {t("followUp.submitAttendance")}
          </Button>
        </Form>
        <Typography.Title level={5}>{t("followUp.rate")}</Typography.Title>
        <Form layout="vertical" onFinish={submitRating}>
          <Field name="side" problems={problems}>
            <Select<WorkforceRatingSide>
              value={side}
              onChange={setSide}
              options={SIDES.map((s) => ({ value: s, label: t(`side.${s}`) }))}
            />
          </Field>
          <Field name="score" problems={problems}>
            <Rate value={score ?? 0} onChange={(v) => setScore(v || null)} />
          </Field>
          <Field name="comment" problems={problems}>
            <Input.TextArea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
          </Field>
          <Button htmlType="submit" loading={rating.fetching}>
            {t("followUp.submitRating")}
          </Button>
        </Form>
        <Refusal refusal={refusal} />
        {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
        {done ? <Alert type="success" showIcon role="status" title={done} /> : null}
      </Space>
    </Drawer>
  );
}
