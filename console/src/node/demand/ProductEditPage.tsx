import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import {
  Alert,
  Button,
  Card,
  Form,
  type FormInstance,
  Input,
  InputNumber,
  Select,
  Space,
  Typography,
} from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import { DemandNav } from "./DemandNav";
import {
  CHANGE_OPS,
  emptyProduct,
  type FormProblem,
  MAX_FROZEN_WEEKS,
  MAX_LOT,
  OPTION_KINDS,
  type ProductForm,
  productChanges,
  productForm,
  productInput,
  SERVICE_LEVELS,
} from "./editing";
import { useBrand } from "./useBrand";

const ProductForEditDocument = graphql(`
  query ProductForEdit($slug: String!) {
    product(slug: $slug) {
      id
      slug
      brand
      name
      baseProduct
      minLot
      lotMultiple
      serviceLevel
      frozenWeeks
      bom {
        item
        quantity
        unit
      }
      options {
        name
        kind
        values {
          value
          bom {
            item
            quantity
            unit
          }
          routing {
            op
            step
            set {
              name
              process
              equipment
              skills
              after
              hoursPerUnit
              unitCost
              yield
              lagDays
              parameters {
                name
                minimum
              }
            }
          }
        }
      }
    }
  }
`);

const CreateProductDocument = graphql(`
  mutation CreateConfigurableProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      __typename
      ... on CreateProductSuccess {
        product {
          id
          slug
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

const UpdateProductDocument = graphql(`
  mutation UpdateConfigurableProduct($id: UUID!, $input: UpdateProductInput!) {
    updateProduct(id: $id, input: $input) {
      __typename
      ... on UpdateProductSuccess {
        product {
          id
          slug
        }
      }
      ... on DemandError {
        code
        message
      }
    }
  }
`);

type Path = (string | number)[];

function BomLines({ name, label }: { name: Path; label: string }) {
  const { t } = useTranslation("demand");
  return (
    <Form.List name={name}>
      {(fields, { add, remove }) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Typography.Text strong>{label}</Typography.Text>
          {fields.map((field) => (
            <Space key={field.key} wrap align="start">
              <Form.Item name={[field.name, "item"]} label={t("edit.item")}>
                <Input placeholder="pp-resin" />
              </Form.Item>
              <Form.Item name={[field.name, "quantity"]} label={t("edit.quantity")}>
                <InputNumber<number> min={0} max={1e6} />
              </Form.Item>
              <Form.Item name={[field.name, "unit"]} label={t("edit.unit")}>
                <Input placeholder="pcs" style={{ width: 90 }} />
              </Form.Item>
              <Button
                aria-label={t("edit.removeLine")}
                icon={<DeleteOutlined />}
                onClick={() => remove(field.name)}
                style={{ marginTop: 30 }}
              />
            </Space>
          ))}
          <Button
            icon={<PlusOutlined />}
            onClick={() => add({ item: "", quantity: 1, unit: "pcs" })}
            data-testid={`add-bom-${name.join("-")}`}
          >
            {t("edit.addLine")}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}

function RoutingChanges({ name }: { name: Path }) {
  const { t } = useTranslation("demand");
  return (
    <Form.List name={name}>
      {(fields, { add, remove }) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Typography.Text strong>{t("edit.routing")}</Typography.Text>
          {fields.map((field) => (
            <Space key={field.key} wrap align="start">
              <Form.Item name={[field.name, "op"]} label={t("edit.op")}>
                <Select
                  style={{ width: 110 }}
                  options={CHANGE_OPS.map((op) => ({ value: op, label: t(`edit.ops.${op}`) }))}
                />
              </Form.Item>
              <Form.Item name={[field.name, "step"]} label={t("edit.step")}>
                <Input placeholder="paint" style={{ width: 120 }} />
              </Form.Item>
              <Form.Item name={[field.name, "process"]} label={t("edit.process")}>
                <Input style={{ width: 120 }} />
              </Form.Item>
              <Form.Item name={[field.name, "equipment"]} label={t("edit.equipment")}>
                <Input style={{ width: 120 }} />
              </Form.Item>
              <Form.Item name={[field.name, "after"]} label={t("edit.after")}>
                <Input placeholder="mould, trim" style={{ width: 140 }} />
              </Form.Item>
              <Form.Item name={[field.name, "skills"]} label={t("edit.skills")}>
                <Input style={{ width: 140 }} />
              </Form.Item>
              <Form.Item name={[field.name, "hoursPerUnit"]} label={t("edit.hoursPerUnit")}>
                <InputNumber<number> min={0} />
              </Form.Item>
              <Form.Item name={[field.name, "yield"]} label={t("edit.yield")}>
                <InputNumber<number> min={0} max={1} step={0.01} />
              </Form.Item>
              <Form.Item name={[field.name, "lagDays"]} label={t("edit.lagDays")}>
                <InputNumber<number> min={0} precision={0} />
              </Form.Item>
              <Button
                aria-label={t("edit.removeChange")}
                icon={<DeleteOutlined />}
                onClick={() => remove(field.name)}
                style={{ marginTop: 30 }}
              />
            </Space>
          ))}
          <Button icon={<PlusOutlined />} onClick={() => add({ op: "ADD", step: "" })}>
            {t("edit.addChange")}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}

function OptionValues({ option }: { option: number }) {
  const { t } = useTranslation("demand");
  return (
    <Form.List name={[option, "values"]}>
      {(fields, { add, remove }) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          {fields.map((field) => (
            <Card
              key={field.key}
              size="small"
              title={
                <Space>
                  <Form.Item
                    name={[field.name, "value"]}
                    label={t("edit.value")}
                    style={{ marginBottom: 0 }}
                  >
                    <Input
                      placeholder="red"
                      data-testid={`option-${option}-value-${field.name}`}
                      style={{ width: 160 }}
                    />
                  </Form.Item>
                </Space>
              }
              extra={
                <Button
                  aria-label={t("edit.removeValue")}
                  icon={<DeleteOutlined />}
                  onClick={() => remove(field.name)}
                />
              }
            >
              <RoutingChanges name={[field.name, "routing"]} />
              <div style={{ marginTop: 12 }}>
                <BomLines name={[field.name, "bom"]} label={t("edit.valueBom")} />
              </div>
            </Card>
          ))}
          <Button
            icon={<PlusOutlined />}
            onClick={() => add({ value: "", routing: [], bom: [] })}
            data-testid={`add-value-${option}`}
          >
            {t("edit.addValue")}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}

function Options() {
  const { t } = useTranslation("demand");
  return (
    <Form.List name="options">
      {(fields, { add, remove }) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          {fields.map((field) => (
            <Card
              key={field.key}
              size="small"
              title={
                <Space wrap>
                  <Form.Item
                    name={[field.name, "name"]}
                    label={t("edit.optionName")}
                    style={{ marginBottom: 0 }}
                  >
                    <Input
                      placeholder="colour"
                      data-testid={`option-${field.name}-name`}
                      style={{ width: 140 }}
                    />
                  </Form.Item>
                  <Form.Item
                    name={[field.name, "kind"]}
                    label={t("edit.kind")}
                    style={{ marginBottom: 0 }}
                  >
                    <Select
                      style={{ width: 160 }}
                      options={OPTION_KINDS.map((kind) => ({
                        value: kind,
                        label: t(`products.kind.${kind}`),
                      }))}
                    />
                  </Form.Item>
                </Space>
              }
              extra={
                <Button
                  aria-label={t("edit.removeOption")}
                  icon={<DeleteOutlined />}
                  onClick={() => remove(field.name)}
                />
              }
            >
              <OptionValues option={field.name} />
            </Card>
          ))}
          <Button
            icon={<PlusOutlined />}
            onClick={() => add({ name: "", kind: "COLOUR", values: [] })}
            data-testid="add-option"
          >
            {t("edit.addOption")}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}

function showProblems(
  form: FormInstance,
  problems: readonly FormProblem[],
  t: (key: string, values?: Record<string, string | number>) => string,
) {
  const byField = new Map<string, string[]>();
  for (const problem of problems) {
    const list = byField.get(problem.path) ?? [];
    list.push(t(`edit.errors.${problem.key}`, problem.values));
    byField.set(problem.path, list);
  }
  form.setFields(
    [...byField].map(([path, errors]) => ({
      name: path.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part)),
      errors,
    })),
  );
}

/** Create a configurable product, or edit one (`/demand/products/:slug/edit`): its options and
 * their values, each value's routing changes and bill of materials lines. */
export default function ProductEditPage() {
  const { t } = useTranslation("demand");
  const { slug } = useParams();
  const editing = slug !== undefined;
  const navigate = useNavigate();
  const viewer = useViewer();
  const picker = useBrand();
  const [form] = Form.useForm<ProductForm>();
  const [{ data, fetching, error }] = useQuery({
    query: ProductForEditDocument,
    variables: { slug: slug ?? "" },
    pause: !editing,
  });
  const [creating, create] = useMutation(CreateProductDocument);
  const [updating, update] = useMutation(UpdateProductDocument);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const product = data?.product ?? null;
  const mayEdit = viewer.can.placeOrders !== false;

  useEffect(() => {
    form.setFieldsValue(product ? productForm(product) : emptyProduct());
  }, [form, product]);

  const submit = async () => {
    setRefusal(null);
    setFailure(null);
    const values = { ...emptyProduct(), ...form.getFieldsValue(true) } as ProductForm;
    const { input, problems: found } = productInput(values);
    setProblems(found);
    showProblems(form, found, t);
    if (!input) return;
    const brand = product?.brand ?? picker.brand;
    const result = product
      ? await update({ id: product.id, input: productChanges(input) })
      : await create({ input: { ...input, brand } });
    if (result.error) return setFailure(result.error);
    const answer =
      result.data && "createProduct" in result.data
        ? result.data.createProduct
        : result.data && "updateProduct" in result.data
          ? result.data.updateProduct
          : null;
    if (answer && "code" in answer) {
      return setRefusal({ code: answer.code, message: answer.message });
    }
    navigate(`/demand${brand ? `?brand=${encodeURIComponent(brand)}` : ""}`);
  };

  const body = (
    <Form<ProductForm>
      form={form}
      layout="vertical"
      disabled={!mayEdit}
      onFinish={submit}
      initialValues={emptyProduct()}
      onFieldsChange={(changed) => {
        // A field's problem goes once it is edited; the others stay until the next save.
        const stale = changed.filter((field) => field.touched && (field.errors?.length ?? 0) > 0);
        if (stale.length > 0) {
          form.setFields(stale.map((field) => ({ name: field.name, errors: [] })));
        }
      }}
    >
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("edit.product")}</h3>}>
          <Space wrap align="start" size={[24, 0]}>
            <Form.Item name="slug" label={t("edit.slug")} extra={t("edit.slugHelp")}>
              <Input disabled={editing} data-testid="product-slug" style={{ width: 180 }} />
            </Form.Item>
            <Form.Item name="name" label={t("edit.name")}>
              <Input data-testid="product-name" style={{ width: 260 }} />
            </Form.Item>
            <Form.Item
              name="baseProduct"
              label={t("products.baseProduct")}
              extra={t("edit.baseHelp")}
            >
              <Input data-testid="product-base" style={{ width: 180 }} />
            </Form.Item>
            <Form.Item name="serviceLevel" label={t("products.serviceLevel")}>
              <Select
                style={{ width: 120 }}
                options={SERVICE_LEVELS.map((level) => ({
                  value: level,
                  label: `${level * 100}%`,
                }))}
              />
            </Form.Item>
            <Form.Item name="frozenWeeks" label={t("products.frozenWeeks")}>
              <InputNumber<number> min={0} max={MAX_FROZEN_WEEKS} precision={0} />
            </Form.Item>
            <Form.Item name="minLot" label={t("rules.minLot")}>
              <InputNumber<number> min={1} max={MAX_LOT} precision={0} />
            </Form.Item>
            <Form.Item name="lotMultiple" label={t("rules.lotMultiple")}>
              <InputNumber<number> min={1} max={MAX_LOT} precision={0} />
            </Form.Item>
          </Space>
          <BomLines name={["bom"]} label={t("products.bom")} />
        </Card>
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("products.options")}</h3>}>
          <Typography.Paragraph type="secondary">{t("edit.optionsHelp")}</Typography.Paragraph>
          <Options />
        </Card>
        {problems.length > 0 ? (
          <Alert
            type="error"
            showIcon
            data-testid="product-problems"
            title={t("edit.problems", { count: problems.length })}
            description={
              <ul style={{ margin: 0, paddingInlineStart: 20 }}>
                {problems.map((p) => (
                  <li key={`${p.path}-${p.key}`}>
                    {p.path ? <code>{p.path}</code> : null} {t(`edit.errors.${p.key}`, p.values)}
                  </li>
                ))}
              </ul>
            }
          />
        ) : null}
        {refusal ? (
          <Alert
            type="error"
            showIcon
            data-testid="demand-refusal"
            title={t("edit.refused")}
            description={
              <>
                {refusal.message} <code>{refusal.code}</code>
              </>
            }
          />
        ) : null}
        {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
        <Space>
          <Button
            type="primary"
            htmlType="submit"
            loading={creating.fetching || updating.fetching}
            data-testid="product-save"
          >
            {editing ? t("edit.save") : t("edit.create")}
          </Button>
          <Link to={`/demand${picker.brand ? `?brand=${encodeURIComponent(picker.brand)}` : ""}`}>
            {t("edit.cancel")}
          </Link>
        </Space>
      </Space>
    </Form>
  );

  return (
    <>
      <Typography.Title level={2}>
        {editing ? t("edit.editTitle", { slug }) : t("edit.newTitle")}
      </Typography.Title>
      <DemandNav picker={picker} />
      {editing ? (
        <QueryState
          fetching={fetching}
          error={error}
          hasData={product !== null}
          empty={t("edit.notFound")}
        >
          {body}
        </QueryState>
      ) : (
        body
      )}
    </>
  );
}
