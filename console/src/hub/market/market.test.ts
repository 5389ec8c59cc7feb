import { describe, expect, it } from "vitest";
import {
  filtersOf,
  hex,
  isSettled,
  mayChangeRelease,
  parseSignatureFile,
  restError,
  withParams,
} from "./market";

describe("filtersOf", () => {
  it("reads the address, trimmed and bounded", () => {
    const params = new URLSearchParams(
      `q=%20mould%20&kind=app&verified=1&industry=${"x".repeat(150)}`,
    );
    const filters = filtersOf(params);
    expect(filters.search).toBe("mould");
    expect(filters.kind).toBe("app");
    expect(filters.verifiedOnly).toBe(true);
    expect(filters.industry).toHaveLength(100);
    expect(filters.license).toBeNull();
  });
});

describe("withParams", () => {
  it("sets, removes and starts paging anew on a filter change", () => {
    const next = withParams(new URLSearchParams("kind=app&after=abc"), { kind: null, q: "x" });
    expect(next.toString()).toBe("q=x");
    const paged = withParams(new URLSearchParams("kind=app"), { after: "c2" });
    expect(paged.get("after")).toBe("c2");
    expect(paged.get("kind")).toBe("app");
  });
});

describe("parseSignatureFile", () => {
  const digest = "A".repeat(64);
  it("takes what yunfab market sign writes", () => {
    const parsed = parseSignatureFile(
      JSON.stringify({
        kind: "publisher",
        name: "n",
        version: "1.0.0",
        key_id: "abcd",
        signature: "c2ln",
        artifact_sha256: digest,
      }),
    );
    expect(parsed).toEqual({
      kind: "publisher",
      name: "n",
      version: "1.0.0",
      keyId: "abcd",
      signature: "c2ln",
      artifactSha256: "a".repeat(64),
    });
  });
  it("says what is wrong", () => {
    expect(parseSignatureFile("not json")).toBe("notJson");
    expect(parseSignatureFile("[1]")).toBe("notJson");
    expect(parseSignatureFile(JSON.stringify({ key_id: "k" }))).toBe("noSignature");
    expect(parseSignatureFile(JSON.stringify({ key_id: "k".repeat(17), signature: "s" }))).toBe(
      "noSignature",
    );
    expect(
      parseSignatureFile(JSON.stringify({ key_id: "k", signature: "s", artifact_sha256: "xyz" })),
    ).toBe("badDigest");
  });
  it("reads a reviewer's file as such", () => {
    const parsed = parseSignatureFile(
      JSON.stringify({ kind: "reviewer", key_id: "k", signature: "s" }),
    );
    expect(parsed).toMatchObject({ kind: "reviewer", artifactSha256: null });
  });
});

describe("restError", () => {
  it("reads the hub's refusal and FastAPI's", () => {
    expect(restError(409, { error: "version_taken", detail: "1.0.0 exists" })).toEqual({
      message: "1.0.0 exists",
      code: "version_taken",
    });
    expect(restError(422, { detail: [{ loc: ["body", "manifest"], msg: "required" }] })).toEqual({
      message: "body.manifest: required",
      code: "HTTP_422",
    });
    expect(restError(502, null)).toEqual({ message: "HTTP 502", code: "HTTP_502" });
  });
});

describe("installation and release rules", () => {
  it("knows when an installation is settled", () => {
    expect(isSettled("APPROVED")).toBe(false);
    expect(isSettled("REQUESTED")).toBe(false);
    expect(isSettled("INSTALLED")).toBe(true);
    expect(isSettled("FAILED")).toBe(true);
  });
  it("lets reviewers and the listing's own publisher change a release", () => {
    expect(mayChangeRelease({ reviewReleases: true }, null, "org")).toBe(true);
    expect(mayChangeRelease({ publishReleases: true }, "org", "org")).toBe(true);
    expect(mayChangeRelease({ publishReleases: true }, "other", "org")).toBe(false);
    expect(mayChangeRelease({}, "org", "org")).toBe(false);
  });
  it("writes digests as hex", () => {
    expect(hex(new Uint8Array([0, 15, 255]).buffer)).toBe("000fff");
  });
});
