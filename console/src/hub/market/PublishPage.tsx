import { Alert, Button, Card, Col, Descriptions, Row, Space, Typography, Upload } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useQuery } from "urql";
import { authFetch } from "../../api/authFetch";
import { useAuth } from "../../auth/AuthContext";
import { useViewer } from "../../auth/useViewer";
import { QueryState } from "../../components/QueryState";
import { MarketPublishersQuery } from "./documents";
import { Opaque } from "./MarketBits";
import {
  isSignatureProblem,
  parseSignatureFile,
  restError,
  type SignatureFile,
  sha256Of,
} from "./market";
import { SigningKeys } from "./SigningKeys";

const UPLOAD_PATH = "/api/v1/market/releases";
const MANIFEST_MAX_CHARS = 256 * 1024;

interface Picked {
  manifest: File | null;
  artifact: File | null;
  signature: File | null;
}

/** Whether the viewer's organization is a verified publisher: the hub refuses uploads before. */
function VerifiedNotice() {
  const { t } = useTranslation("market");
  const viewer = useViewer();
  const organization = viewer.organization;
  const [{ data, fetching, error }] = useQuery({
    query: MarketPublishersQuery,
    variables: { ids: organization ? [organization] : [] },
    pause: !organization,
  });
  if (!organization) return null;
  return (
    <QueryState fetching={fetching} error={error} hasData={!!data}>
      {data?.marketPublishers.length ? (
        <Alert type="success" showIcon title={t("publish.verified")} />
      ) : (
        <Alert type="warning" showIcon title={t("publish.notVerified")} />
      )}
    </QueryState>
  );
}

export default function PublishPage() {
  const { t } = useTranslation("market");
  const navigate = useNavigate();
  const viewer = useViewer();
  const { session } = useAuth();
  const fetcher = useMemo(() => authFetch(session.tokens, () => session.tokens.clear()), [session]);
  const [picked, setPicked] = useState<Picked>({ manifest: null, artifact: null, signature: null });
  const [signed, setSigned] = useState<SignatureFile | null>(null);
  const [digest, setDigest] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; code: string } | null>(null);

  const pick = async (which: keyof Picked, file: File | null) => {
    setRefusal(null);
    setPicked((current) => ({ ...current, [which]: file }));
    if (which === "signature") {
      setSigned(null);
      setProblem(null);
      if (file) {
        const parsed = parseSignatureFile(await file.text());
        if (isSignatureProblem(parsed)) setProblem(t(`signatureProblems.${parsed}`));
        else if (parsed.kind !== "publisher") setProblem(t("publish.notPublisherSignature"));
        else setSigned(parsed);
      }
    }
    if (which === "artifact") setDigest(file ? await sha256Of(file) : null);
  };

  const mismatch = !!(signed?.artifactSha256 && digest && signed.artifactSha256 !== digest);
  const ready = !!picked.manifest && !!picked.artifact && !!signed && !mismatch && !uploading;

  const publish = async () => {
    if (!picked.manifest || !picked.artifact || !signed) return;
    setRefusal(null);
    const manifest = await picked.manifest.text();
    if (manifest.length > MANIFEST_MAX_CHARS) {
      setRefusal({ message: t("publish.manifestTooLong"), code: "invalid_input" });
      return;
    }
    const form = new FormData();
    form.set("manifest", manifest);
    form.set("key_id", signed.keyId);
    form.set("signature", signed.signature);
    if (signed.artifactSha256) form.set("artifact_sha256", signed.artifactSha256);
    form.set("artifact", picked.artifact, picked.artifact.name);
    setUploading(true);
    try {
      const response = await fetcher(new URL(UPLOAD_PATH, window.location.href), {
        method: "POST",
        body: form,
      });
      const body: unknown = await response.json().catch(() => null);
      if (response.status === 201 && body && typeof body === "object" && "id" in body) {
        navigate(`/market/releases/${String((body as { id: string }).id)}`);
      } else {
        setRefusal(restError(response.status, body));
      }
    } catch (error) {
      setRefusal({
        message: error instanceof Error ? error.message : String(error),
        code: "NETWORK_ERROR",
      });
    } finally {
      setUploading(false);
    }
  };

  const picker = (which: keyof Picked, accept: string | undefined) => (
    <div data-testid={`pick-${which}`}>
      <Upload
        accept={accept}
        maxCount={1}
        beforeUpload={(file) => {
          void pick(which, file);
          return false;
        }}
        onRemove={() => {
          void pick(which, null);
        }}
      >
        <Button>{t(`publish.pick.${which}`)}</Button>
      </Upload>
    </div>
  );

  return (
    <>
      <Typography.Title level={2}>{t("publish.title")}</Typography.Title>
      {viewer.can.publishReleases === false ? (
        <Alert type="info" showIcon title={t("publish.notAllowed")} />
      ) : (
        <Space orientation="vertical" size={16} style={{ width: "100%" }}>
          <VerifiedNotice />
          <SigningKeys />
          <Card size="small" title={t("publish.upload")}>
            <Typography.Paragraph type="secondary">{t("publish.explain")}</Typography.Paragraph>
            <Typography.Paragraph>
              <Typography.Text code>
                yunfab market sign --manifest manifest.toml --artifact artifact --key publisher.pem
                --out release.sig.json
              </Typography.Text>
            </Typography.Paragraph>
            <Row gutter={[16, 16]}>
              <Col xs={24} md={8}>
                <Typography.Title level={5}>{t("publish.manifest")}</Typography.Title>
                <Typography.Paragraph type="secondary">
                  {t("publish.manifestHelp")}
                </Typography.Paragraph>
                {picker("manifest", ".toml,.json,application/json,application/toml")}
              </Col>
              <Col xs={24} md={8}>
                <Typography.Title level={5}>{t("publish.artifact")}</Typography.Title>
                <Typography.Paragraph type="secondary">
                  {t("publish.artifactHelp")}
                </Typography.Paragraph>
                {picker("artifact", undefined)}
              </Col>
              <Col xs={24} md={8}>
                <Typography.Title level={5}>{t("publish.signature")}</Typography.Title>
                <Typography.Paragraph type="secondary">
                  {t("publish.signatureHelp")}
                </Typography.Paragraph>
                {picker("signature", ".json,application/json")}
              </Col>
            </Row>
            {signed || digest ? (
              <Descriptions size="small" column={1} bordered style={{ marginTop: 16 }}>
                {signed ? (
                  <>
                    <Descriptions.Item label={t("publish.release")}>
                      {signed.name ?? "—"} {signed.version ?? ""}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("signatures.publisherKey")}>
                      <code>{signed.keyId}</code>
                    </Descriptions.Item>
                    <Descriptions.Item label={t("publish.signedDigest")}>
                      {signed.artifactSha256 ? <Opaque value={signed.artifactSha256} /> : "—"}
                    </Descriptions.Item>
                  </>
                ) : null}
                {digest ? (
                  <Descriptions.Item label={t("publish.artifactDigest")}>
                    <Opaque value={digest} />
                  </Descriptions.Item>
                ) : null}
              </Descriptions>
            ) : null}
            <Space orientation="vertical" style={{ width: "100%", marginTop: 16 }}>
              {problem ? <Alert type="warning" showIcon title={problem} /> : null}
              {mismatch ? (
                <Alert type="error" showIcon title={t("publish.digestMismatch")} />
              ) : null}
              {refusal ? (
                <Alert
                  type="error"
                  showIcon
                  data-testid="publish-refusal"
                  title={t("publish.refused")}
                  description={
                    <>
                      {refusal.message} <code>{refusal.code}</code>
                    </>
                  }
                />
              ) : null}
              <Button type="primary" disabled={!ready} loading={uploading} onClick={publish}>
                {t("publish.submit")}
              </Button>
            </Space>
          </Card>
        </Space>
      )}
    </>
  );
}
