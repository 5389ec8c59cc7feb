import { Alert, Button, Card, Form, InputNumber, Select, Space, Switch, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { type CombinedError, useMutation, useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { DemandRulesQuery } from "../../gql/node/graphql";
import { DemandNav } from "./DemandNav";
import {
  type FormProblem,
  MAX_FROZEN_WEEKS,
  MAX_LOT,
  type Rules,
  rulesUpdate,
  SERVICE_LEVELS,
} from "./editing";
import { useBrand } from "./useBrand";

const DemandRulesDocument = graphql(`
  query DemandRules($brand: String) {
    products(brand: $brand, first: 100) {
      edges {
        node {
          id
          slug
          name
          serviceLevel
          frozenWeeks
          minLot
          lotMultiple
          autoAcceptUpTo
        }
      }
    }
  }
`);

const UpdateRulesDocument = graphql(`
  mutation UpdateProductRules($id: UUID!, $input: UpdateProductInput!) {
    updateProduct(id: $id, input: $input) {
      __typename
      ... on DemandError {
        code
        message
      }
    }
  }
`);

const SetAutoAcceptDocument = graphql(`
  mutation SetAutoAccept($id: UUID!, $upTo: Int) {
    setAutoAccept(productId: $id, upTo: $upTo) {
      __typename
      ... on DemandError {
        code
        message
      }
    }
  }
`);

type Product = DemandRulesQuery["products"]["edges"][number]["node"];

function rulesOf(product: Product): Rules {
  return {
    serviceLevel: product.serviceLevel,
    frozenWeeks: product.frozenWeeks,
    minLot: product.minLot,
    lotMultiple: product.lotMultiple,
    autoAcceptUpTo: product.autoAcceptUpTo ?? null,
  };
}

function RulesCard({ product, onSaved }: { product: Product; onSaved: () => void }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const viewer = useViewer();
  const [form, setForm] = useState<Rules>(() => rulesOf(product));
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [failure, setFailure] = useState<CombinedError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [, update] = useMutation(UpdateRulesDocument);
  const [, autoAccept] = useMutation(SetAutoAcceptDocument);
  // The planning figures are the brand's (and the operator's); auto-accept is the operator's.
  const mayEdit = viewer.can.placeOrders !== false;
  const mayAutoAccept = viewer.can.planOrders !== false;

  const problem = (path: string) => {
    const found = problems.find((p) => p.path === path);
    return found ? t(`edit.errors.${found.key}`, found.values) : undefined;
  };

  const submit = async () => {
    setRefusal(null);
    setFailure(null);
    setSaved(false);
    const plan = rulesUpdate(rulesOf(product), form);
    setProblems(plan.problems);
    if (plan.problems.length > 0) return;
    setBusy(true);
    try {
      if (plan.update) {
        const result = await update({ id: product.id, input: plan.update });
        if (result.error) return setFailure(result.error);
        const answer = result.data?.updateProduct;
        if (answer && "code" in answer) {
          return setRefusal({ code: answer.code, message: answer.message });
        }
      }
      if (plan.autoAccept) {
        const result = await autoAccept({ id: product.id, upTo: plan.autoAccept.upTo });
        if (result.error) return setFailure(result.error);
        const answer = result.data?.setAutoAccept;
        if (answer && "code" in answer) {
          return setRefusal({ code: answer.code, message: answer.message });
        }
      }
      setSaved(true);
      onSaved();
    } finally {
      setBusy(false);
    }
  };

  const slug = product.slug;
  return (
    <Card
      title={
        <h3 style={{ margin: 0, fontSize: 16 }}>
          {product.name} <Typography.Text type="secondary">({slug})</Typography.Text>
        </h3>
      }
      data-testid={`rules-${slug}`}
    >
      <Form layout="vertical" disabled={!mayEdit} onFinish={submit}>
        <Space wrap size={[24, 0]} align="start">
          <Form.Item
            label={t("products.serviceLevel")}
            htmlFor={`${slug}-service`}
            validateStatus={problem("serviceLevel") ? "error" : undefined}
            help={problem("serviceLevel") ?? t("rules.serviceLevelHelp")}
          >
            <Select
              id={`${slug}-service`}
              data-testid={`rules-${slug}-service`}
              value={form.serviceLevel}
              style={{ minWidth: 120 }}
              onChange={(value: number) => setForm({ ...form, serviceLevel: value })}
              options={SERVICE_LEVELS.map((level) => ({
                value: level,
                label: format.number(level, { style: "percent" }),
              }))}
            />
          </Form.Item>
          <Form.Item
            label={t("products.frozenWeeks")}
            htmlFor={`${slug}-frozen`}
            validateStatus={problem("frozenWeeks") ? "error" : undefined}
            help={problem("frozenWeeks") ?? t("rules.frozenHelp")}
          >
            <InputNumber<number>
              id={`${slug}-frozen`}
              data-testid={`rules-${slug}-frozen`}
              min={0}
              max={MAX_FROZEN_WEEKS}
              precision={0}
              value={form.frozenWeeks}
              onChange={(value) => setForm({ ...form, frozenWeeks: value ?? Number.NaN })}
            />
          </Form.Item>
          <Form.Item
            label={t("rules.minLot")}
            htmlFor={`${slug}-min-lot`}
            validateStatus={problem("minLot") ? "error" : undefined}
            help={problem("minLot")}
          >
            <InputNumber<number>
              id={`${slug}-min-lot`}
              data-testid={`rules-${slug}-min-lot`}
              min={1}
              max={MAX_LOT}
              precision={0}
              value={form.minLot}
              onChange={(value) => setForm({ ...form, minLot: value ?? Number.NaN })}
            />
          </Form.Item>
          <Form.Item
            label={t("rules.lotMultiple")}
            htmlFor={`${slug}-multiple`}
            validateStatus={problem("lotMultiple") ? "error" : undefined}
            help={problem("lotMultiple")}
          >
            <InputNumber<number>
              id={`${slug}-multiple`}
              data-testid={`rules-${slug}-multiple`}
              min={1}
              max={MAX_LOT}
              precision={0}
              value={form.lotMultiple}
              onChange={(value) => setForm({ ...form, lotMultiple: value ?? Number.NaN })}
            />
          </Form.Item>
          <Form.Item
            label={t("products.autoAccept")}
            htmlFor={`${slug}-auto`}
            validateStatus={problem("autoAcceptUpTo") ? "error" : undefined}
            help={problem("autoAcceptUpTo") ?? t("rules.autoAcceptHelp")}
          >
            <Space>
              <Switch
                aria-label={t("rules.autoAcceptOn")}
                data-testid={`rules-${slug}-auto-on`}
                disabled={!mayAutoAccept}
                checked={form.autoAcceptUpTo !== null}
                onChange={(on) =>
                  setForm({ ...form, autoAcceptUpTo: on ? (product.autoAcceptUpTo ?? 100) : null })
                }
              />
              <InputNumber<number>
                id={`${slug}-auto`}
                data-testid={`rules-${slug}-auto`}
                disabled={!mayAutoAccept || form.autoAcceptUpTo === null}
                min={1}
                precision={0}
                value={form.autoAcceptUpTo}
                onChange={(value) => setForm({ ...form, autoAcceptUpTo: value ?? Number.NaN })}
              />
            </Space>
          </Form.Item>
        </Space>
        {problems.some((p) => p.path === "") ? (
          <Alert type="info" showIcon title={t("edit.errors.nothingChanged")} />
        ) : null}
        {refusal ? (
          <Alert
            type="error"
            showIcon
            data-testid="demand-refusal"
            title={t("rules.refused")}
            description={
              <>
                {refusal.message} <code>{refusal.code}</code>
              </>
            }
          />
        ) : null}
        {failure ? <Alert type="error" showIcon title={failure.message} /> : null}
        {saved ? (
          <Alert
            type="success"
            showIcon
            role="status"
            data-testid={`rules-${slug}-saved`}
            title={t("rules.saved")}
          />
        ) : null}
        {mayEdit ? (
          <Space style={{ marginTop: 12 }}>
            <Button
              type="primary"
              htmlType="submit"
              loading={busy}
              data-testid={`rules-${slug}-save`}
            >
              {t("rules.save")}
            </Button>
            <Button
              onClick={() => {
                setForm(rulesOf(product));
                setProblems([]);
              }}
            >
              {t("edit.reset")}
            </Button>
          </Space>
        ) : null}
      </Form>
    </Card>
  );
}

/** Each product's planning rules: service level, frozen horizon, lot sizes, auto-accept. */
export default function RulesPage() {
  const { t } = useTranslation("demand");
  const picker = useBrand();
  const [{ data, fetching, error }, refresh] = useQuery({
    query: DemandRulesDocument,
    variables: { brand: picker.brand },
    pause: picker.fetching && picker.brands.length === 0,
  });
  const products = data?.products.edges.map((edge) => edge.node) ?? [];
  return (
    <>
      <Typography.Title level={2}>{t("rules.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Typography.Paragraph type="secondary">{t("rules.intro")}</Typography.Paragraph>
      <QueryState
        fetching={fetching || picker.fetching}
        error={error}
        hasData={products.length > 0}
        empty={t("products.empty")}
      >
        <Space orientation="vertical" size={16} style={{ width: "100%" }}>
          {products.map((product) => (
            <RulesCard
              key={product.id}
              product={product}
              onSaved={() => refresh({ requestPolicy: "network-only" })}
            />
          ))}
        </Space>
      </QueryState>
    </>
  );
}
