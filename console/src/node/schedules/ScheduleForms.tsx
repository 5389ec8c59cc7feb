import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Modal,
  Select,
  Space,
  TimePicker,
} from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useMutation, useQuery } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import type { ScheduleFieldsFragment } from "../../gql/node/graphql";
import {
  InsertRushJobMutation,
  ScheduleFactoryMutation,
  ScheduleMachinesQuery,
  ScheduleWorkOrdersMutation,
} from "./documents";
import {
  checkJob,
  checkNewSchedule,
  type FormProblem,
  type JobValues,
  jobInput,
  type NewScheduleValues,
  newScheduleVariables,
  nextJobId,
  nowMinute,
  type TimeValue,
} from "./forms";
import { JobFields, type MachineOption } from "./JobFields";

export function Problems({ problems }: { problems: FormProblem[] }) {
  const { t } = useTranslation("schedules");
  if (problems.length === 0) return null;
  return (
    <Alert
      type="warning"
      showIcon
      style={{ marginBottom: 16 }}
      title={t("form.problems")}
      description={
        <ul style={{ margin: 0, paddingInlineStart: 20 }}>
          {problems.map((p) => (
            <li key={`${p.key}-${JSON.stringify(p.values ?? {})}`}>{t(p.key, p.values)}</li>
          ))}
        </ul>
      }
    />
  );
}

/** The machines of a schedule, as choices for a job's operations. */
export function scheduleMachines(schedule: ScheduleFieldsFragment): MachineOption[] {
  return schedule.gantt.machines.map((m) => ({
    value: m.id,
    label: m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id,
  }));
}

interface RushValues extends JobValues {
  name?: string;
  changePenalty?: number | null;
}

/** Insert a rush job into a schedule: the node solves a new schedule, keeping work already begun. */
export function RushJobModal({
  schedule,
  open,
  onClose,
  onDone,
}: {
  schedule: ScheduleFieldsFragment;
  open: boolean;
  onClose: () => void;
  onDone: (created: ScheduleFieldsFragment) => void;
}) {
  const { t } = useTranslation("schedules");
  const [form] = Form.useForm<RushValues>();
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [result, insert] = useMutation(InsertRushJobMutation);
  const machines = useMemo(() => scheduleMachines(schedule), [schedule]);
  const existing = useMemo(() => schedule.gantt.jobs.map((j) => j.id), [schedule]);
  const jobId = useMemo(() => nextJobId(existing), [existing]);

  const submit = async (values: RushValues) => {
    const found = checkJob(values, { existing, planStart: schedule.gantt.start, now: Date.now() });
    setProblems(found);
    if (found.length > 0) return;
    const job = jobInput(values, schedule.gantt.start);
    const answer = await insert({
      scheduleId: schedule.id,
      job,
      now: nowMinute(schedule.gantt.start),
      name:
        (values.name ?? "").trim() || t("rush.defaultName", { name: schedule.name, job: job.id }),
      changePenalty: values.changePenalty ?? 10,
    });
    if (answer.data?.insertRushJob) {
      form.resetFields();
      onDone(answer.data.insertRushJob);
    }
  };

  return (
    <Modal
      open={open}
      title={t("rush.title")}
      onCancel={onClose}
      width={760}
      destroyOnHidden
      okText={t("rush.submit")}
      cancelText={t("form.cancel")}
      okButtonProps={{ loading: result.fetching, htmlType: "submit", form: "rush-job-form" }}
    >
      <Form<RushValues>
        id="rush-job-form"
        form={form}
        layout="vertical"
        onFinish={submit}
        initialValues={{
          id: jobId,
          weight: 5,
          changePenalty: 10,
          operations: [{ machines: [], minutes: 60 }],
        }}
      >
        <p>{t("rush.intro")}</p>
        <JobFields machines={machines} idPrefix="rush" />
        <Space wrap align="start">
          <Form.Item label={t("rush.name")} name="name" htmlFor="rush-name">
            <Input id="rush-name" placeholder={t("rush.namePlaceholder")} style={{ width: 280 }} />
          </Form.Item>
          <Form.Item
            label={t("rush.changePenalty")}
            name="changePenalty"
            htmlFor="rush-penalty"
            tooltip={t("rush.changePenaltyHelp")}
          >
            <InputNumber id="rush-penalty" min={0} max={10000} style={{ width: 140 }} />
          </Form.Item>
        </Space>
        <Problems problems={problems} />
        {result.error ? <ErrorNotice error={result.error} /> : null}
      </Form>
    </Modal>
  );
}

interface WorkOrderValues {
  day?: TimeValue & { format(pattern: string): string };
  shiftStart?: TimeValue & { format(pattern: string): string };
  shiftMinutes?: number | null;
  changeoverMinutes?: number | null;
}

/** Schedule one day of the factory's open work orders. */
export function WorkOrdersModal({
  factoryId,
  open,
  onClose,
  onDone,
}: {
  factoryId: string;
  open: boolean;
  onClose: () => void;
  onDone: (created: ScheduleFieldsFragment) => void;
}) {
  const { t } = useTranslation("schedules");
  const [result, schedule] = useMutation(ScheduleWorkOrdersMutation);
  const submit = async (values: WorkOrderValues) => {
    if (!values.day) return;
    const answer = await schedule({
      factoryId,
      day: values.day.format("YYYY-MM-DD"),
      shiftStart: values.shiftStart ? values.shiftStart.format("HH:mm:00") : "08:00:00",
      shiftMinutes: values.shiftMinutes ?? 720,
      changeoverMinutes: values.changeoverMinutes ?? 0,
    });
    if (answer.data?.scheduleWorkOrders) onDone(answer.data.scheduleWorkOrders);
  };
  return (
    <Modal
      open={open}
      title={t("workOrders.title")}
      onCancel={onClose}
      destroyOnHidden
      okText={t("workOrders.submit")}
      cancelText={t("form.cancel")}
      okButtonProps={{ loading: result.fetching, htmlType: "submit", form: "work-orders-form" }}
    >
      <Form<WorkOrderValues>
        id="work-orders-form"
        layout="vertical"
        onFinish={submit}
        initialValues={{ shiftMinutes: 720, changeoverMinutes: 0 }}
      >
        <p>{t("workOrders.intro")}</p>
        <Form.Item
          label={t("workOrders.day")}
          name="day"
          htmlFor="wo-day"
          rules={[{ required: true, message: t("form.errors.day") }]}
        >
          <DatePicker id="wo-day" />
        </Form.Item>
        <Space wrap align="start">
          <Form.Item label={t("workOrders.shiftStart")} name="shiftStart" htmlFor="wo-shift-start">
            <TimePicker id="wo-shift-start" format="HH:mm" placeholder="08:00" />
          </Form.Item>
          <Form.Item label={t("workOrders.shiftMinutes")} name="shiftMinutes" htmlFor="wo-shift">
            <InputNumber id="wo-shift" min={60} max={1440} precision={0} />
          </Form.Item>
          <Form.Item
            label={t("workOrders.changeoverMinutes")}
            name="changeoverMinutes"
            htmlFor="wo-changeover"
          >
            <InputNumber id="wo-changeover" min={0} max={1440} precision={0} />
          </Form.Item>
        </Space>
        {result.error ? <ErrorNotice error={result.error} /> : null}
      </Form>
    </Modal>
  );
}

/** A new schedule from jobs given by hand, on machines of the factory (its devices) or named here. */
export function NewScheduleModal({
  factoryId,
  open,
  onClose,
  onDone,
}: {
  factoryId: string;
  open: boolean;
  onClose: () => void;
  onDone: (created: ScheduleFieldsFragment) => void;
}) {
  const { t } = useTranslation("schedules");
  const [form] = Form.useForm<NewScheduleValues>();
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [result, create] = useMutation(ScheduleFactoryMutation);
  const [devices] = useQuery({
    query: ScheduleMachinesQuery,
    variables: { factoryId },
    pause: !open,
  });
  const chosen = Form.useWatch("machines", form) ?? [];
  const names = useMemo(
    () => new Map((devices.data?.devices.edges ?? []).map((e) => [e.node.key, e.node.name])),
    [devices.data],
  );
  const deviceOptions: MachineOption[] = [...names.entries()].map(([key, name]) => ({
    value: key,
    label: name && name !== key ? `${name} (${key})` : key,
  }));
  const chosenOptions: MachineOption[] = chosen.map((id) => ({
    value: id,
    label: names.get(id) && names.get(id) !== id ? `${names.get(id)} (${id})` : id,
  }));

  const submit = async (values: NewScheduleValues) => {
    const now = Date.now();
    const found = checkNewSchedule(values, now);
    setProblems(found);
    if (found.length > 0) return;
    const answer = await create({ factoryId, ...newScheduleVariables(values, names, now) });
    if (answer.data?.scheduleFactory) {
      form.resetFields();
      onDone(answer.data.scheduleFactory);
    }
  };

  return (
    <Modal
      open={open}
      title={t("create.title")}
      onCancel={onClose}
      width={860}
      destroyOnHidden
      okText={t("create.submit")}
      cancelText={t("form.cancel")}
      okButtonProps={{ loading: result.fetching, htmlType: "submit", form: "new-schedule-form" }}
    >
      <Form<NewScheduleValues>
        id="new-schedule-form"
        form={form}
        layout="vertical"
        onFinish={submit}
        initialValues={{
          jobs: [{ id: "J-1", weight: 1, operations: [{ machines: [], minutes: 60 }] }],
          latenessWeight: 1,
          makespanWeight: 0.1,
        }}
      >
        <p>{t("create.intro")}</p>
        <Space wrap align="start">
          <Form.Item
            label={t("create.name")}
            name="name"
            htmlFor="new-name"
            rules={[{ required: true, message: t("form.errors.name") }]}
          >
            <Input id="new-name" style={{ width: 260 }} />
          </Form.Item>
          <Form.Item
            label={t("create.start")}
            name="start"
            htmlFor="new-start"
            tooltip={t("create.startHelp")}
          >
            <DatePicker
              id="new-start"
              showTime={{ format: "HH:mm" }}
              needConfirm={false}
              format="YYYY-MM-DD HH:mm"
            />
          </Form.Item>
        </Space>
        <Form.Item
          label={t("create.machines")}
          name="machines"
          htmlFor="new-machines"
          tooltip={t("create.machinesHelp")}
          rules={[{ required: true, message: t("form.errors.noMachines") }]}
        >
          <Select id="new-machines" mode="tags" options={deviceOptions} optionFilterProp="label" />
        </Form.Item>
        <Form.List name="jobs">
          {(fields, { add, remove }) => (
            <>
              {fields.map((field, index) => (
                <Card
                  key={field.key}
                  size="small"
                  style={{ marginBottom: 12 }}
                  title={t("create.job", { n: index + 1 })}
                  extra={
                    fields.length > 1 ? (
                      <Button
                        icon={<DeleteOutlined />}
                        onClick={() => remove(field.name)}
                        aria-label={t("create.removeJob", { n: index + 1 })}
                      />
                    ) : null
                  }
                >
                  <JobFields
                    prefix={[field.name]}
                    machines={chosenOptions}
                    idPrefix={`job${index}`}
                  />
                </Card>
              ))}
              <Form.Item>
                <Button
                  icon={<PlusOutlined />}
                  onClick={() =>
                    add({
                      id: `J-${fields.length + 1}`,
                      weight: 1,
                      operations: [{ machines: [], minutes: 60 }],
                    })
                  }
                >
                  {t("create.addJob")}
                </Button>
              </Form.Item>
            </>
          )}
        </Form.List>
        <Space wrap align="start">
          <Form.Item label={t("create.latenessWeight")} name="latenessWeight" htmlFor="new-w-late">
            <InputNumber id="new-w-late" min={0} max={1000} />
          </Form.Item>
          <Form.Item label={t("create.makespanWeight")} name="makespanWeight" htmlFor="new-w-span">
            <InputNumber id="new-w-span" min={0} max={1000} />
          </Form.Item>
        </Space>
        <Problems problems={problems} />
        {result.error ? <ErrorNotice error={result.error} /> : null}
      </Form>
    </Modal>
  );
}
