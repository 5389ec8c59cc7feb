import { Card, Descriptions, Space, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { PeopleClientsQuery, PeopleOrganizationQuery, PeopleUsersQuery } from "./documents";

const SHOWN = 20;

/** One organization: what it is, its people and its OAuth2 clients (managed on their pages). */
export default function OrganizationPage() {
  const { t } = useTranslation("people");
  const format = useFormat();
  const viewer = useViewer();
  const { id = "" } = useParams();
  const [org] = useQuery({ query: PeopleOrganizationQuery, variables: { id } });
  const mayReadUsers = viewer.can.readUsers !== false;
  const mayReadClients = viewer.can.readClients !== false;
  const [users] = useQuery({
    query: PeopleUsersQuery,
    variables: { first: SHOWN, filter: { organizationId: id } },
    pause: !mayReadUsers,
  });
  const [clients] = useQuery({
    query: PeopleClientsQuery,
    variables: { first: SHOWN, filter: { organizationId: id } },
    pause: !mayReadClients,
  });
  /** People and clients alike: active, or disabled. */
  const statusColumn = {
    title: t("status"),
    dataIndex: "disabledAt",
    render: (at: string | null) =>
      at ? <Tag color="error">{t("disabled")}</Tag> : <Tag color="success">{t("active")}</Tag>,
  };
  const organization = org.data?.organization;
  const people = users.data?.users.edges.map((edge) => edge.node) ?? [];
  const apps = clients.data?.apiClients.edges.map((edge) => edge.node) ?? [];
  return (
    <QueryState fetching={org.fetching} error={org.error} hasData={!!organization}>
      {organization ? (
        <>
          <Typography.Title level={2}>{organization.name}</Typography.Title>
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, md: 3 }}
            style={{ marginBottom: 16 }}
          >
            <Descriptions.Item label={t("organizations.kind")}>
              <Tag>{t(`kinds.${organization.kind}`)}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t("createdAt")}>
              {format.dateTime(organization.createdAt)}
            </Descriptions.Item>
            <Descriptions.Item label={t("organizations.id")}>
              <Typography.Text code copyable>
                {organization.id}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
          {mayReadUsers ? (
            <Card
              size="small"
              title={t("organizations.people", { count: users.data?.users.totalCount ?? 0 })}
              extra={
                <Link to={`/users?org=${organization.id}`}>{t("organizations.managePeople")}</Link>
              }
              style={{ marginBottom: 16 }}
            >
              <QueryState
                fetching={users.fetching}
                error={users.error}
                hasData={people.length > 0}
                empty={t("users.empty")}
              >
                <Table
                  data-testid="organization-users"
                  rowKey="id"
                  size="small"
                  pagination={false}
                  dataSource={people}
                  columns={[
                    { title: t("users.email"), dataIndex: "email" },
                    { title: t("users.name"), dataIndex: "name" },
                    {
                      title: t("users.roles"),
                      dataIndex: "roles",
                      render: (roles: string[]) => (
                        <Space size={[4, 4]} wrap>
                          {roles.map((role) => (
                            <Tag key={role}>{t(`roles.${role}`)}</Tag>
                          ))}
                        </Space>
                      ),
                    },
                    statusColumn,
                  ]}
                />
              </QueryState>
            </Card>
          ) : null}
          {mayReadClients ? (
            <Card
              size="small"
              title={t("organizations.clients", {
                count: clients.data?.apiClients.totalCount ?? 0,
              })}
              extra={
                <Link to={`/clients?org=${organization.id}`}>
                  {t("organizations.manageClients")}
                </Link>
              }
            >
              <QueryState
                fetching={clients.fetching}
                error={clients.error}
                hasData={apps.length > 0}
                empty={t("clients.empty")}
              >
                <Table
                  data-testid="organization-clients"
                  rowKey="id"
                  size="small"
                  pagination={false}
                  dataSource={apps}
                  columns={[
                    { title: t("clients.name"), dataIndex: "name" },
                    {
                      title: t("clients.clientId"),
                      dataIndex: "clientId",
                      render: (clientId: string) => <code>{clientId}</code>,
                    },
                    {
                      title: t("clients.kind"),
                      dataIndex: "kind",
                      render: (kind: string) => t(`clientKinds.${kind}`),
                    },
                    statusColumn,
                  ]}
                />
              </QueryState>
            </Card>
          ) : null}
        </>
      ) : null}
    </QueryState>
  );
}
