import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base64url, challengeS256, createPkcePair, randomString } from "./pkce";

describe("PKCE", () => {
  it("matches RFC 7636's example (appendix B)", async () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(await challengeS256(verifier)).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("makes verifiers of allowed length and alphabet, each different", async () => {
    const pairs = await Promise.all([createPkcePair(), createPkcePair()]);
    for (const { verifier, challenge } of pairs) {
      expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
      const expected = createHash("sha256").update(verifier).digest("base64url");
      expect(challenge).toBe(expected);
    }
    expect(pairs[0]?.verifier).not.toBe(pairs[1]?.verifier);
  });

  it("encodes base64url without padding", () => {
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe("-_-_");
    expect(base64url(new Uint8Array([1]))).toBe("AQ");
    expect(randomString(24)).toHaveLength(32);
  });
});
