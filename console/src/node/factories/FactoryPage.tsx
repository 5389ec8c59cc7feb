import { ArrowLeftOutlined, EditOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  Col,
  Descriptions,
  Flex,
  Progress,
  Row,
  Table,
  Tag,
  Typography,
} from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { FactoryProfileQuery } from "../../gql/node/graphql";
import { CapacityCalendar } from "./CapacityCalendar";
import { FactoryActions } from "./FactoryActions";
import { FactoryAuditTrail } from "./FactoryAuditTrail";
import { ProfileEditor } from "./ProfileEditor";
import { missingForSubmission } from "./profileForm";
import { STATUS_COLORS } from "./status";

const FactoryProfile = graphql(`
  query FactoryProfile($id: UUID, $slug: String) {
    factory(id: $id, slug: $slug) {
      id
      slug
      name
      status
      statusReason
      organizationId
      location {
        address
        city
        region
        lat
        lon
        timeZone
      }
      contact {
        name
        phone
        email
      }
      skills
      products
      certifications {
        name
        issuer
        validUntil
      }
      createdAt
      updatedAt
      statusChangedAt
      equipment {
        type
        model
        count
        parameters
      }
    }
  }
`);

const FactoryEvaluation = graphql(`
  query FactoryEvaluation($id: UUID!) {
    factory(id: $id) {
      id
      evaluation {
        computedAt
        windowDays
        scores {
          name
          value
          explanation
          inputs {
            name
            value
            unit
          }
        }
      }
    }
  }
`);

type Factory = FactoryProfileQuery["factory"];
type Equipment = Factory["equipment"][number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function SectionTitle({ children }: { children: string }) {
  return <h2 style={{ margin: 0, fontSize: 16 }}>{children}</h2>;
}

function parameterText(value: unknown): string {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
}

function Profile({ factory }: { factory: Factory }) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const { location, contact } = factory;
  const tags = (values: string[]) =>
    values.length ? (
      <Flex wrap gap={4}>
        {values.map((value) => (
          <Tag key={value}>{value}</Tag>
        ))}
      </Flex>
    ) : (
      "—"
    );
  return (
    <Descriptions column={{ xs: 1, md: 2 }} size="small" bordered>
      <Descriptions.Item label={t("profile.slug")}>
        <Typography.Text code>{factory.slug}</Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.status")}>
        <Tag color={STATUS_COLORS[factory.status]} data-testid="factory-status">
          {t(`status.${factory.status}`)}
        </Tag>
        {factory.statusReason ? <span>{factory.statusReason}</span> : null}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.address")}>{location.address ?? "—"}</Descriptions.Item>
      <Descriptions.Item label={t("profile.city")}>
        {[location.city, location.region].filter(Boolean).join(" · ") || "—"}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.coordinates")}>
        {location.lat !== null && location.lat !== undefined && location.lon !== null
          ? `${format.number(location.lat, { maximumFractionDigits: 5 })}, ${format.number(location.lon, { maximumFractionDigits: 5 })}`
          : "—"}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.timeZone")}>
        {location.timeZone ?? t("profile.nodeTimeZone")}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.contactName")}>{contact.name ?? "—"}</Descriptions.Item>
      <Descriptions.Item label={t("profile.phone")}>{contact.phone ?? "—"}</Descriptions.Item>
      <Descriptions.Item label={t("profile.email")}>
        {contact.email ? <a href={`mailto:${contact.email}`}>{contact.email}</a> : "—"}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.organization")}>
        {factory.organizationId ?? "—"}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.products")}>{tags(factory.products)}</Descriptions.Item>
      <Descriptions.Item label={t("profile.skills")}>{tags(factory.skills)}</Descriptions.Item>
      <Descriptions.Item label={t("profile.certifications")} span={2}>
        {factory.certifications.length
          ? factory.certifications.map((cert) => (
              <div key={`${cert.name}:${cert.issuer ?? ""}`}>
                {cert.name}
                {cert.issuer ? ` · ${cert.issuer}` : ""}
                {cert.validUntil
                  ? ` · ${t("profile.validUntil", { date: format.date(`${cert.validUntil}T00:00:00`) })}`
                  : ""}
              </div>
            ))
          : "—"}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.createdAt")}>
        {format.dateTime(factory.createdAt)}
      </Descriptions.Item>
      <Descriptions.Item label={t("profile.statusChangedAt")}>
        {format.dateTime(factory.statusChangedAt)}
      </Descriptions.Item>
    </Descriptions>
  );
}

function EquipmentTable({ equipment }: { equipment: Equipment[] }) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  return (
    <Table<Equipment>
      rowKey={(row) => `${row.type}:${row.model}`}
      size="small"
      pagination={false}
      dataSource={equipment}
      locale={{
        // antd's own empty text is too pale on white (WCAG AA).
        emptyText: <Typography.Text type="secondary">{t("equipment.empty")}</Typography.Text>,
      }}
      columns={[
        { key: "type", title: t("equipment.type"), dataIndex: "type" },
        { key: "model", title: t("equipment.model"), dataIndex: "model" },
        {
          key: "count",
          title: t("equipment.count"),
          dataIndex: "count",
          align: "right",
          render: (count: number) => format.number(count),
        },
        {
          key: "parameters",
          title: t("equipment.parameters"),
          render: (_, row) => {
            const entries =
              row.parameters && typeof row.parameters === "object"
                ? Object.entries(row.parameters as Record<string, unknown>)
                : [];
            return entries.length ? (
              <Flex wrap gap={4}>
                {entries.map(([name, value]) => (
                  <Tag key={name}>
                    {name}: {parameterText(value)}
                  </Tag>
                ))}
              </Flex>
            ) : (
              "—"
            );
          },
        },
      ]}
    />
  );
}

function Evaluation({ factoryId }: { factoryId: string }) {
  const { t } = useTranslation("factories");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({
    query: FactoryEvaluation,
    variables: { id: factoryId },
  });
  const evaluation = data?.factory.evaluation;
  return (
    <QueryState fetching={fetching} error={error} hasData={!!evaluation}>
      {evaluation ? (
        <>
          <Typography.Paragraph type="secondary">
            {t("evaluation.window", {
              days: format.number(evaluation.windowDays),
              at: format.dateTime(evaluation.computedAt),
            })}
          </Typography.Paragraph>
          <Row gutter={[16, 16]}>
            {evaluation.scores.map((score) => (
              <Col key={score.name} xs={24} md={12} xl={6}>
                <Card size="small" style={{ height: "100%" }}>
                  <Flex vertical align="center" gap={8}>
                    <h3 style={{ margin: 0, fontSize: 15 }}>
                      {t(`evaluation.scores.${score.name}`, { defaultValue: score.name })}
                    </h3>
                    <Progress
                      type="dashboard"
                      size={110}
                      percent={score.value ?? 0}
                      status="normal"
                      aria-label={t(`evaluation.scores.${score.name}`, {
                        defaultValue: score.name,
                      })}
                      format={() =>
                        score.value === null || score.value === undefined
                          ? t("evaluation.noData")
                          : format.number(score.value, { maximumFractionDigits: 1 })
                      }
                    />
                  </Flex>
                  <Typography.Paragraph style={{ marginTop: 8 }}>
                    {score.explanation}
                  </Typography.Paragraph>
                  <Descriptions column={1} size="small">
                    {score.inputs.map((input) => (
                      <Descriptions.Item
                        key={input.name}
                        label={t(`evaluation.inputs.${input.name}`, { defaultValue: input.name })}
                      >
                        {format.number(input.value, { maximumFractionDigits: 2 })}{" "}
                        {t(`evaluation.units.${input.unit}`, { defaultValue: input.unit })}
                      </Descriptions.Item>
                    ))}
                  </Descriptions>
                </Card>
              </Col>
            ))}
          </Row>
        </>
      ) : null}
    </QueryState>
  );
}

export default function FactoryPage() {
  const { t } = useTranslation("factories");
  const viewer = useViewer();
  const { ref = "" } = useParams();
  const byId = UUID.test(ref);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: FactoryProfile,
    variables: byId ? { id: ref } : { slug: ref },
  });
  const factory = data?.factory;
  const changed = useCallback(() => refetch({ requestPolicy: "network-only" }), [refetch]);
  const [editing, setEditing] = useState(false);
  const canEdit = viewer.can.editFactoryProfile === true;
  const missing =
    factory && canEdit && (factory.status === "INVITED" || factory.status === "REJECTED")
      ? missingForSubmission(factory)
      : [];

  return (
    <>
      <Link to="/factories">
        <ArrowLeftOutlined /> {t("detail.back")}
      </Link>
      <QueryState fetching={fetching} error={error} hasData={!!factory} rows={8}>
        {factory ? (
          <>
            <Flex justify="space-between" align="center" wrap gap={8} style={{ marginTop: 8 }}>
              <Typography.Title level={1} style={{ fontSize: 26, margin: "8px 0" }}>
                {factory.name}{" "}
                <Tag color={STATUS_COLORS[factory.status]} style={{ verticalAlign: "middle" }}>
                  {t(`status.${factory.status}`)}
                </Tag>
              </Typography.Title>
              <Flex wrap gap={8}>
                {canEdit ? (
                  <Button icon={<EditOutlined />} onClick={() => setEditing(true)}>
                    {t("edit.button")}
                  </Button>
                ) : null}
                <FactoryActions factory={factory} onChanged={changed} />
              </Flex>
            </Flex>
            {missing.length ? (
              <Alert
                type="info"
                showIcon
                style={{ marginTop: 8 }}
                title={t("edit.missingTitle")}
                description={missing
                  .map((key) => t(`edit.missing.${key}`))
                  .join(t("edit.listSeparator"))}
              />
            ) : null}
            {canEdit ? (
              <ProfileEditor
                factory={factory}
                open={editing}
                onClose={() => setEditing(false)}
                onSaved={() => {
                  setEditing(false);
                  changed();
                }}
              />
            ) : null}
            <Flex vertical gap={16} style={{ marginTop: 8 }}>
              <Card title={<SectionTitle>{t("detail.profile")}</SectionTitle>}>
                <Profile factory={factory} />
              </Card>
              <Card title={<SectionTitle>{t("detail.equipment")}</SectionTitle>}>
                <EquipmentTable equipment={factory.equipment} />
              </Card>
              <Card title={<SectionTitle>{t("detail.capacity")}</SectionTitle>}>
                <CapacityCalendar factoryId={factory.id} canEdit={canEdit} />
              </Card>
              <Card title={<SectionTitle>{t("detail.evaluation")}</SectionTitle>}>
                <Evaluation factoryId={factory.id} />
              </Card>
              {viewer.can.readAudit === true ? (
                <Card title={<SectionTitle>{t("detail.audit")}</SectionTitle>}>
                  <FactoryAuditTrail factoryId={factory.id} version={factory.statusChangedAt} />
                </Card>
              ) : null}
            </Flex>
          </>
        ) : null}
      </QueryState>
    </>
  );
}
