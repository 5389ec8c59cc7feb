import { UploadOutlined } from "@ant-design/icons";
import { Alert, Button, Card, Space, Table, Typography, Upload } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { authFetch } from "../../api/authFetch";
import { useAuth } from "../../auth/AuthContext";
import { useFormat } from "../../components/format";
import { QueryState } from "../../components/QueryState";
import { graphql } from "../../gql/node";
import type { SalesImportsQuery } from "../../gql/node/graphql";
import { DemandNav } from "./DemandNav";
import { SalesFeeds } from "./SalesFeeds";
import { type SalesProblem, type UploadOutcome, uploadContentType, uploadOutcome } from "./shaping";
import { useBrand } from "./useBrand";

const SalesImportsDocument = graphql(`
  query SalesImports($brand: String) {
    salesImports(brand: $brand, first: 20) {
      totalCount
      edges {
        node {
          id
          source
          rows
          firstDay
          lastDay
          createdBy
          createdAt
          warnings {
            sku
            weeks
            message
          }
        }
      }
    }
  }
`);

type ImportRow = SalesImportsQuery["salesImports"]["edges"][number]["node"];

/** The node's bound on an upload (regional_node/demand/api.py). */
const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;

function Outcome({ outcome }: { outcome: UploadOutcome }) {
  const { t } = useTranslation("demand");
  const format = useFormat();
  if (outcome.kind === "imported") {
    return (
      <Alert
        type="success"
        showIcon
        role="status"
        data-testid="sales-imported"
        title={t("sales.imported", {
          rows: format.number(outcome.rows),
          first: format.date(outcome.firstDay),
          last: format.date(outcome.lastDay),
        })}
        description={
          outcome.warnings.length > 0 ? (
            <ul style={{ margin: 0, paddingInlineStart: 20 }}>
              {outcome.warnings.map((w) => (
                <li key={`${w.sku}-${w.firstWeek}`}>{w.message}</li>
              ))}
            </ul>
          ) : undefined
        }
      />
    );
  }
  return (
    <Alert
      type="error"
      showIcon
      data-testid="sales-refused"
      title={t("sales.refused")}
      description={
        <Space orientation="vertical" style={{ width: "100%" }}>
          <span>
            {outcome.message} <code>{outcome.code}</code>
          </span>
          {outcome.problems.length > 0 ? (
            <Table<SalesProblem>
              data-testid="sales-problems"
              rowKey={(p) => `${p.row}-${p.column}-${p.message}`}
              size="small"
              pagination={false}
              dataSource={outcome.problems}
              columns={[
                {
                  title: t("sales.row"),
                  dataIndex: "row",
                  width: 80,
                  render: (row: number | null) => (row === null ? t("sales.wholeFile") : row),
                },
                {
                  title: t("sales.column"),
                  dataIndex: "column",
                  width: 120,
                  render: (column: string | null) => column ?? "—",
                },
                { title: t("sales.problem"), dataIndex: "message" },
              ]}
            />
          ) : null}
          {outcome.moreProblems > 0 ? (
            <span>{t("sales.moreProblems", { count: outcome.moreProblems })}</span>
          ) : null}
        </Space>
      }
    />
  );
}

export default function SalesPage() {
  const { t } = useTranslation("demand");
  const format = useFormat();
  const { session } = useAuth();
  const picker = useBrand();
  const [file, setFile] = useState<File | null>(null);
  const [uploading, setUploading] = useState(false);
  const [outcome, setOutcome] = useState<UploadOutcome | null>(null);
  const fetcher = useMemo(() => authFetch(session.tokens, () => session.tokens.clear()), [session]);
  const [imports, refresh] = useQuery({
    query: SalesImportsDocument,
    variables: { brand: picker.brand },
    pause: picker.fetching && picker.brands.length === 0,
  });
  const rows = imports.data?.salesImports.edges.map((edge) => edge.node) ?? [];
  const tooLarge = file !== null && file.size > MAX_UPLOAD_BYTES;

  const upload = async () => {
    if (!file) return;
    setUploading(true);
    setOutcome(null);
    const url = new URL("/api/v1/demand/sales", window.location.href);
    if (picker.brand) url.searchParams.set("brand", picker.brand);
    url.searchParams.set("source", file.name.slice(0, 200));
    try {
      const response = await fetcher(url, {
        method: "POST",
        headers: { "content-type": uploadContentType(file.name) },
        body: file,
      });
      const body: unknown = await response.json().catch(() => null);
      const answer = uploadOutcome(response.status, body);
      setOutcome(answer);
      if (answer.kind === "imported") {
        setFile(null);
        refresh({ requestPolicy: "network-only" });
      }
    } catch (error) {
      setOutcome({
        kind: "refused",
        code: "NETWORK_ERROR",
        message: error instanceof Error ? error.message : String(error),
        problems: [],
        moreProblems: 0,
      });
    } finally {
      setUploading(false);
    }
  };

  return (
    <>
      <Typography.Title level={2}>{t("sales.title")}</Typography.Title>
      <DemandNav picker={picker} />
      <Space orientation="vertical" size={16} style={{ width: "100%" }}>
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("sales.upload")}</h3>}>
          <Typography.Paragraph>{t("sales.help")}</Typography.Paragraph>
          <Typography.Paragraph>
            <code>sku,date,quantity,channel,region</code>
          </Typography.Paragraph>
          <Space wrap>
            <Upload
              accept=".csv,.parquet,text/csv"
              maxCount={1}
              showUploadList={false}
              beforeUpload={(picked: File) => {
                // Kept here and sent by the button below: antd sends nothing itself.
                setFile(picked);
                setOutcome(null);
                return false;
              }}
            >
              <Button icon={<UploadOutlined />} data-testid="sales-pick">
                {t("sales.pick")}
              </Button>
            </Upload>
            <Typography.Text data-testid="sales-file">
              {file
                ? t("sales.picked", {
                    name: file.name,
                    size: format.number(file.size / 1024, { maximumFractionDigits: 1 }),
                  })
                : t("sales.nothingPicked")}
            </Typography.Text>
            <Button
              type="primary"
              onClick={upload}
              loading={uploading}
              disabled={!file || tooLarge}
              data-testid="sales-send"
            >
              {t("sales.send")}
            </Button>
          </Space>
          {tooLarge ? (
            <Alert
              style={{ marginTop: 16 }}
              type="warning"
              showIcon
              title={t("sales.tooLarge", { max: 32 })}
            />
          ) : null}
          {outcome ? (
            <div style={{ marginTop: 16 }}>
              <Outcome outcome={outcome} />
            </div>
          ) : null}
        </Card>
        <SalesFeeds
          brand={picker.brand}
          onImported={() => refresh({ requestPolicy: "network-only" })}
        />
        <Card title={<h3 style={{ margin: 0, fontSize: 16 }}>{t("sales.imports")}</h3>}>
          <QueryState
            fetching={imports.fetching}
            error={imports.error}
            hasData={rows.length > 0}
            empty={t("sales.noImports")}
          >
            <Table<ImportRow>
              data-testid="sales-imports"
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={rows}
              scroll={{ x: 800 }}
              columns={[
                { title: t("sales.source"), dataIndex: "source" },
                {
                  title: t("sales.rows"),
                  dataIndex: "rows",
                  align: "right",
                  render: (value: number) => format.number(value),
                },
                {
                  title: t("sales.days"),
                  key: "days",
                  render: (_: unknown, row) =>
                    `${format.date(row.firstDay)} – ${format.date(row.lastDay)}`,
                },
                {
                  title: t("sales.gaps"),
                  dataIndex: "warnings",
                  render: (warnings: ImportRow["warnings"]) =>
                    warnings.length === 0 ? "—" : warnings.map((w) => w.message).join("; "),
                },
                {
                  title: t("sales.importedAt"),
                  dataIndex: "createdAt",
                  render: (value: string) => format.dateTime(value),
                },
              ]}
            />
          </QueryState>
        </Card>
      </Space>
    </>
  );
}
