import { ArrowLeftOutlined } from "@ant-design/icons";
import { Alert, Card, Col, Collapse, Descriptions, Row, Space, Timeline, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { useQuery } from "urql";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { ContractActions } from "./ContractActions";
import { ContractDocument } from "./documents";
import { Organization } from "./Organization";
import { PolicyText } from "./PolicyText";
import { purposeKey } from "./policyWords";
import { StatusTag } from "./StatusTag";

export default function ContractPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ContractDocument,
    variables: { id },
    requestPolicy: "cache-and-network",
  });
  const contract = data?.dataContract;
  const purpose = (value: string) => t(`purposes.${purposeKey(value)}`, value);

  return (
    <>
      <div>
        <Link to="/exchange/contracts">
          <ArrowLeftOutlined /> {t("contract.back")}
        </Link>
      </div>
      <QueryState fetching={fetching} error={error} hasData={contract !== undefined} rows={8}>
        {contract ? (
          <>
            <Space align="center" wrap>
              <Typography.Title level={2}>
                {t("contract.title", {
                  product: contract.product?.title ?? contract.product?.key ?? contract.productId,
                })}
              </Typography.Title>
              <StatusTag status={contract.status} />
            </Space>
            <Card style={{ marginBottom: 16 }}>
              <ContractActions
                contract={contract}
                size="middle"
                onDone={() => refetch({ requestPolicy: "network-only" })}
              />
              <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginTop: 16 }}>
                <Descriptions.Item label={t("contracts.product")}>
                  <Link to={`/exchange/products/${contract.productId}`}>
                    {contract.product?.title ?? contract.productId}
                  </Link>
                </Descriptions.Item>
                <Descriptions.Item label={t("contracts.purpose")}>
                  {purpose(contract.purpose)}
                </Descriptions.Item>
                <Descriptions.Item label={t("contracts.consumerOrg")}>
                  <Organization id={contract.consumerOrganizationId} />
                </Descriptions.Item>
                <Descriptions.Item label={t("contracts.providerOrg")}>
                  <Organization id={contract.providerOrganizationId} />
                </Descriptions.Item>
                <Descriptions.Item label={t("contracts.createdAt")}>
                  {format.dateTime(contract.createdAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("contract.finalizedAt")}>
                  {format.dateTime(contract.finalizedAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("contracts.expiresAt")}>
                  {format.dateTime(contract.expiresAt)}
                </Descriptions.Item>
                {contract.terminatedAt ? (
                  <Descriptions.Item label={t("contract.terminatedAt")}>
                    {format.dateTime(contract.terminatedAt)} · {contract.terminationReason}
                  </Descriptions.Item>
                ) : null}
              </Descriptions>
            </Card>
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={14}>
                <Card title={t("contract.terms")}>
                  {contract.terms ? (
                    <>
                      <PolicyText
                        testId="contract-terms"
                        policy={{
                          ...contract.terms,
                          purposes: [purposeKey(contract.terms.purpose)],
                        }}
                      />
                      <Typography.Paragraph style={{ marginTop: 16, marginBottom: 4 }}>
                        {t("contract.termsHash")}
                      </Typography.Paragraph>
                      <Typography.Text code copyable data-testid="contract-terms-hash">
                        {contract.termsHash}
                      </Typography.Text>
                      <Collapse
                        style={{ marginTop: 16 }}
                        size="small"
                        items={[
                          {
                            key: "json",
                            label: t("contract.termsJson"),
                            children: (
                              <pre style={{ whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
                                {JSON.stringify(contract.termsJson, null, 2)}
                              </pre>
                            ),
                          },
                        ]}
                      />
                    </>
                  ) : (
                    <Alert type="info" showIcon title={t("contract.noTerms")} />
                  )}
                </Card>
                <Card title={t("contract.request")} style={{ marginTop: 16 }}>
                  <Descriptions size="small" column={1}>
                    <Descriptions.Item label={t("contracts.purpose")}>
                      {purpose(contract.request.purpose)}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("request.fields")}>
                      {contract.request.fields.length
                        ? contract.request.fields.join(", ")
                        : t("contract.allFields")}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("request.regions")}>
                      {contract.request.regions.length
                        ? contract.request.regions.join(", ")
                        : t("contract.allRegions")}
                    </Descriptions.Item>
                  </Descriptions>
                </Card>
              </Col>
              <Col xs={24} xl={10}>
                <Card title={t("contract.history")}>
                  <Timeline
                    items={contract.history.map((step, index) => ({
                      key: `${step.status}-${index}`,
                      content: (
                        <>
                          <StatusTag status={step.status} /> {format.dateTime(step.at)}
                          <div>
                            <Typography.Text type="secondary">
                              {t("contract.by", { who: step.by })}
                            </Typography.Text>
                          </div>
                          {step.note ? <div>{step.note}</div> : null}
                        </>
                      ),
                    }))}
                  />
                </Card>
              </Col>
            </Row>
          </>
        ) : null}
      </QueryState>
    </>
  );
}
