import { ArrowLeftOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Col,
  Descriptions,
  Empty,
  Form,
  Row,
  Select,
  Space,
  Table,
  Typography,
} from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import type {
  DataPurpose,
  ExchangeContractsQuery,
  ExchangeProductQuery,
  ExchangeRequestContractMutation,
} from "../../gql/hub/graphql";
import { ContractsDocument, ProductDocument, RequestContractDocument } from "./documents";
import { PolicyText } from "./PolicyText";
import { purposeKey } from "./policyWords";
import { RefusalNotice } from "./RefusalNotice";
import { StatusTag } from "./StatusTag";

type Product = ExchangeProductQuery["dataProduct"];
type Offer = Product["offers"][number];
type Field = Product["schema"][number];

const PURPOSES: DataPurpose[] = [
  "CAPACITY_PLANNING",
  "SUPPLY_MATCHING",
  "SUPPLIER_SELECTION",
  "CREDIT_ASSESSMENT",
  "QUALITY_IMPROVEMENT",
  "RESEARCH",
  "PUBLIC_INFORMATION",
];

export default function ProductPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const viewer = useViewer();
  const [{ data, fetching, error }] = useQuery({ query: ProductDocument, variables: { id } });
  const product = data?.dataProduct;

  return (
    <>
      <Link to="/exchange">
        <ArrowLeftOutlined /> {t("product.back")}
      </Link>
      <QueryState fetching={fetching} error={error} hasData={product !== undefined} rows={8}>
        {product ? (
          <>
            <Typography.Title level={2}>{product.title}</Typography.Title>
            <Typography.Paragraph>{product.description}</Typography.Paragraph>
            <Card style={{ marginBottom: 16 }}>
              <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }}>
                <Descriptions.Item label={t("product.publisher")}>
                  {product.publisherOrganizationId}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.node")}>
                  {product.node ?? "—"}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.region")}>{product.region}</Descriptions.Item>
                <Descriptions.Item label={t("product.industry")}>
                  {product.industry}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.frequency")}>
                  {t(`frequency.${product.updateFrequency}`, product.updateFrequency)}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.rows")}>
                  {format.number(product.rowCount)}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.dataUpdatedAt")}>
                  {format.dateTime(product.dataUpdatedAt)}
                </Descriptions.Item>
                <Descriptions.Item label={t("product.live")}>
                  {product.live ? t("product.liveYes") : t("product.liveNo")}
                </Descriptions.Item>
              </Descriptions>
            </Card>
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={12}>
                <Card title={t("product.schema")} data-testid="product-schema">
                  <Table<Field>
                    rowKey="name"
                    size="small"
                    pagination={false}
                    dataSource={product.schema}
                    columns={[
                      {
                        title: t("product.fieldName"),
                        dataIndex: "name",
                        render: (name: string) => (
                          <Typography.Text code style={{ whiteSpace: "nowrap" }}>
                            {name}
                          </Typography.Text>
                        ),
                      },
                      {
                        title: t("product.fieldType"),
                        dataIndex: "type",
                        render: (type: string) => t(`types.${type}`, type),
                      },
                      {
                        title: t("product.fieldRole"),
                        dataIndex: "role",
                        render: (role: string) => t(`roles.${role}`, role),
                      },
                      { title: t("product.fieldDescription"), dataIndex: "description" },
                    ]}
                  />
                </Card>
              </Col>
              <Col xs={24} xl={12}>
                <Card title={t("product.sample")}>
                  <Sample product={product} />
                </Card>
              </Col>
            </Row>
            <Typography.Title level={3} style={{ marginTop: 24 }}>
              {t("product.offers")}
            </Typography.Title>
            {product.offers.length === 0 ? (
              <Alert type="info" showIcon title={t("product.noOffers")} />
            ) : (
              <Row gutter={[16, 16]}>
                {product.offers.map((offer, index) => (
                  <Col xs={24} xl={12} key={offer.id}>
                    <Card
                      size="small"
                      title={t("product.offer", { n: index + 1 })}
                      data-testid="product-offer"
                    >
                      <PolicyText policy={offer.policy} />
                      <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
                        {t("product.policyHash")}:{" "}
                        <Typography.Text code copyable>
                          {offer.policyHash}
                        </Typography.Text>
                      </Typography.Paragraph>
                    </Card>
                  </Col>
                ))}
              </Row>
            )}
            {product.offers.length > 0 && viewer.can.requestContracts !== false ? (
              <RequestForm product={product} />
            ) : null}
            {viewer.can.readContracts !== false ? <MyContracts productId={product.id} /> : null}
          </>
        ) : null}
      </QueryState>
    </>
  );
}

function Sample({ product }: { product: Product }) {
  const { t } = useTranslation("exchange");
  const rows = Array.isArray(product.sample) ? (product.sample as Record<string, unknown>[]) : [];
  if (rows.length === 0) {
    return <Empty description={t("product.noSample")} />;
  }
  return (
    <Table<Record<string, unknown>>
      rowKey={(_, index) => String(index)}
      size="small"
      pagination={false}
      scroll={{ x: true }}
      dataSource={rows}
      columns={product.schema.map((field) => ({
        title: field.name,
        dataIndex: field.name,
        render: (value: unknown) =>
          value === null || value === undefined
            ? "—"
            : Array.isArray(value)
              ? value.join(", ")
              : String(value),
      }))}
    />
  );
}

interface RequestValues {
  offerId: string;
  purpose: DataPurpose;
  fields: string[];
  regions: string[];
  acceptTerms: boolean;
}

function RequestForm({ product }: { product: Product }) {
  const { t } = useTranslation("exchange");
  const [params, setParams] = useSearchParams();
  const [form] = Form.useForm<RequestValues>();
  const [state, request] = useMutation(RequestContractDocument);
  const [outcome, setOutcome] = useState<
    | { contract: ExchangeRequestContractMutation["requestDataContract"] }
    | { error: CombinedError }
    | null
  >(null);
  const offerParam = params.get("offer");
  const initialOffer =
    product.offers.find((offer) => offer.id === offerParam) ?? (product.offers[0] as Offer);
  const offerId = Form.useWatch("offerId", form) ?? initialOffer.id;
  const offer = product.offers.find((o) => o.id === offerId) ?? initialOffer;
  const offered = new Set<string>(offer.policy.purposes);
  const purposes = [...PURPOSES].sort((a, b) => Number(offered.has(b)) - Number(offered.has(a)));

  const submit = async (values: RequestValues) => {
    const result = await request({
      input: {
        offerId: values.offerId,
        purpose: values.purpose,
        fields: values.fields.length ? values.fields : null,
        regions: values.regions.length ? values.regions : null,
        acceptTerms: values.acceptTerms,
      },
    });
    setOutcome(
      result.error
        ? { error: result.error }
        : result.data
          ? { contract: result.data.requestDataContract }
          : null,
    );
  };

  return (
    <Card title={t("request.title")} style={{ marginTop: 16 }} data-testid="request-form">
      <Form<RequestValues>
        form={form}
        layout="vertical"
        initialValues={{
          offerId: initialOffer.id,
          fields: [],
          regions: [],
          acceptTerms: true,
        }}
        onFinish={submit}
        onValuesChange={(changed: Partial<RequestValues>) => {
          if (changed.offerId) {
            const next = new URLSearchParams(params);
            next.set("offer", changed.offerId);
            setParams(next, { replace: true });
          }
        }}
        style={{ maxWidth: 720 }}
      >
        <Form.Item name="offerId" label={t("request.offer")}>
          <Select
            options={product.offers.map((o, index) => ({
              value: o.id,
              label: t("product.offer", { n: index + 1 }),
            }))}
          />
        </Form.Item>
        <Form.Item
          name="purpose"
          label={t("request.purpose")}
          rules={[{ required: true, message: t("request.purposeRequired") }]}
        >
          <Select
            options={purposes.map((purpose) => ({
              value: purpose,
              label: offered.has(purpose)
                ? t(`purposes.${purpose}`)
                : `${t(`purposes.${purpose}`)} (${t("request.notOffered")})`,
            }))}
          />
        </Form.Item>
        <Form.Item name="fields" label={t("request.fields")} extra={t("request.fieldsHelp")}>
          <Select
            mode="multiple"
            allowClear
            options={product.schema.map((field) => ({ value: field.name, label: field.name }))}
          />
        </Form.Item>
        <Form.Item name="regions" label={t("request.regions")} extra={t("request.regionsHelp")}>
          <Select
            mode="tags"
            allowClear
            tokenSeparators={[",", " "]}
            options={(offer.policy.regions ?? [product.region]).map((region) => ({
              value: region,
              label: region,
            }))}
          />
        </Form.Item>
        <Form.Item name="acceptTerms" valuePropName="checked">
          <Checkbox>{t("request.acceptTerms")}</Checkbox>
        </Form.Item>
        <Button
          type="primary"
          htmlType="submit"
          loading={state.fetching}
          data-testid="request-submit"
        >
          {t("request.submit")}
        </Button>
      </Form>
      {outcome && "error" in outcome ? (
        <div style={{ marginTop: 16 }}>
          <RefusalNotice error={outcome.error} />
        </div>
      ) : null}
      {outcome && "contract" in outcome ? (
        <Alert
          style={{ marginTop: 16 }}
          type={outcome.contract.status === "FINALIZED" ? "success" : "info"}
          showIcon
          data-testid="request-decision"
          title={
            outcome.contract.status === "FINALIZED"
              ? t("request.finalized")
              : t("request.waiting", { status: t(`status.${outcome.contract.status}`) })
          }
          description={
            <Space wrap>
              <StatusTag status={outcome.contract.status} />
              {outcome.contract.termsHash ? (
                <Typography.Text code>{outcome.contract.termsHash}</Typography.Text>
              ) : null}
              <Link to={`/exchange/contracts/${outcome.contract.id}`}>{t("request.open")}</Link>
              {outcome.contract.status === "FINALIZED" ? (
                <Link to={`/exchange/query?contract=${outcome.contract.id}`}>
                  {t("request.query")}
                </Link>
              ) : null}
            </Space>
          }
        />
      ) : null}
    </Card>
  );
}

type ContractRow = ExchangeContractsQuery["dataContracts"]["edges"][number]["node"];

function MyContracts({ productId }: { productId: string }) {
  const { t } = useTranslation("exchange");
  const format = useFormat();
  const [{ data, fetching, error }] = useQuery({
    query: ContractsDocument,
    variables: { role: "CONSUMER", productId, first: 20, after: null, status: null },
    requestPolicy: "cache-and-network",
  });
  const rows = data?.dataContracts.edges.map((edge) => edge.node) ?? [];
  if (!fetching && !error && rows.length === 0) return null;
  return (
    <Card title={t("product.myContracts")} style={{ marginTop: 16 }}>
      <QueryState fetching={fetching} error={error} hasData={rows.length > 0}>
        <Table<ContractRow>
          rowKey="id"
          size="small"
          pagination={false}
          dataSource={rows}
          columns={[
            {
              title: t("contracts.status"),
              dataIndex: "status",
              render: (status: string, row) => (
                <Link to={`/exchange/contracts/${row.id}`}>
                  <StatusTag status={status} />
                </Link>
              ),
            },
            {
              title: t("contracts.purpose"),
              dataIndex: "purpose",
              render: (purpose: string) => t(`purposes.${purposeKey(purpose)}`, purpose),
            },
            {
              title: t("contracts.createdAt"),
              dataIndex: "createdAt",
              render: (value: string) => format.dateTime(value),
            },
            {
              title: t("contracts.expiresAt"),
              dataIndex: "expiresAt",
              render: (value: string | null) => format.dateTime(value),
            },
          ]}
        />
      </QueryState>
    </Card>
  );
}
