/** The market pages' logic that is worth testing on its own: nothing here renders. */
import type { MarketInstallationState, MarketReleaseStatus } from "../../gql/hub/graphql";

export const KINDS = [
  "app",
  "scheduling_template",
  "defect_model",
  "process_recipe",
  "data_connector",
  "machine_profile",
] as const;

/** The search's filters as the address holds them (`?q=&kind=&industry=&license=&verified=1`). */
export interface SearchFilters {
  search: string | null;
  kind: string | null;
  industry: string | null;
  license: string | null;
  verifiedOnly: boolean;
}

const MAX_FILTER = 100;

function filter(value: string | null): string | null {
  const trimmed = (value ?? "").trim();
  return trimmed ? trimmed.slice(0, MAX_FILTER) : null;
}

export function filtersOf(params: URLSearchParams): SearchFilters {
  return {
    search: filter(params.get("q")),
    kind: filter(params.get("kind")),
    industry: filter(params.get("industry")),
    license: filter(params.get("license")),
    verifiedOnly: params.get("verified") === "1",
  };
}

/** `params` with `changes` applied (null or "" removes a key); a changed filter pages anew. */
export function withParams(
  params: URLSearchParams,
  changes: Record<string, string | null>,
): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value) next.set(key, value);
    else next.delete(key);
  }
  if (!("after" in changes)) next.delete("after");
  return next;
}

/** An installation the node has finished with, one way or the other: nothing more to follow. */
export function isSettled(status: MarketInstallationState): boolean {
  return (
    status === "INSTALLED" || status === "FAILED" || status === "DISABLED" || status === "REMOVED"
  );
}

export const INSTALLATION_STEPS: MarketInstallationState[] = ["REQUESTED", "APPROVED", "INSTALLED"];

export const INSTALLATION_COLORS: Record<MarketInstallationState, string> = {
  REQUESTED: "default",
  APPROVED: "processing",
  INSTALLED: "success",
  FAILED: "error",
  DISABLED: "warning",
  REMOVING: "processing",
  REMOVED: "default",
};

export const RELEASE_COLORS: Record<MarketReleaseStatus, string> = {
  PUBLISHED: "success",
  YANKED: "warning",
  REVOKED: "error",
};

/** What `yunfab market sign` writes: the fields the upload sends beside the two files. */
export interface SignatureFile {
  kind: "publisher" | "reviewer";
  name: string | null;
  version: string | null;
  keyId: string;
  signature: string;
  artifactSha256: string | null;
}

export type SignatureProblem = "notJson" | "noSignature" | "badDigest";

const SHA256 = /^[0-9a-fA-F]{64}$/;

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** The signature file's fields, or what is wrong with it (the hub checks the signature). */
export function parseSignatureFile(content: string): SignatureFile | SignatureProblem {
  let body: unknown;
  try {
    body = JSON.parse(content);
  } catch {
    return "notJson";
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) return "notJson";
  const fields = body as Record<string, unknown>;
  const keyId = text(fields.key_id);
  const signature = text(fields.signature);
  if (!keyId || !signature || keyId.length > 16 || signature.length > 128) return "noSignature";
  const digest = text(fields.artifact_sha256);
  if (digest !== null && !SHA256.test(digest)) return "badDigest";
  return {
    kind: fields.kind === "reviewer" ? "reviewer" : "publisher",
    name: text(fields.name),
    version: text(fields.version),
    keyId,
    signature,
    artifactSha256: digest?.toLowerCase() ?? null,
  };
}

export function isSignatureProblem(
  value: SignatureFile | SignatureProblem,
): value is SignatureProblem {
  return typeof value === "string";
}

/** The hub's REST refusal (`{"error": code, "detail": message}`, or FastAPI's `detail` list). */
export function restError(status: number, body: unknown): { message: string; code: string } {
  if (body && typeof body === "object") {
    const fields = body as Record<string, unknown>;
    const code = typeof fields.error === "string" ? fields.error : `HTTP_${status}`;
    const detail = fields.detail;
    if (typeof detail === "string") return { message: detail, code };
    if (Array.isArray(detail)) {
      const first = detail[0] as { msg?: unknown; loc?: unknown } | undefined;
      const where = Array.isArray(first?.loc) ? `${first.loc.join(".")}: ` : "";
      return { message: `${where}${String(first?.msg ?? "")}`, code };
    }
    return { message: `HTTP ${status}`, code };
  }
  return { message: `HTTP ${status}`, code: `HTTP_${status}` };
}

/** Lower-case hex of a SHA-256 digest. */
export function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The artifact's SHA-256 as the hub will compute it; null where the browser cannot (not a
 * secure context). */
export async function sha256Of(file: Blob): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  return hex(await globalThis.crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
}

/** Who may yank or revoke: the hub's reviewers, or the listing's own publisher (the policy's
 * two rules, as the viewer's capabilities state them). */
export function mayChangeRelease(
  can: { reviewReleases?: boolean; publishReleases?: boolean },
  viewerOrganization: string | null,
  publisherOrganization: string,
): boolean {
  if (can.reviewReleases === true) return true;
  return can.publishReleases === true && viewerOrganization === publisherOrganization;
}
