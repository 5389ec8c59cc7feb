/** The access token's claims, read for display only: the API decides what anyone may do. */
export interface TokenClaims {
  sub?: string;
  name?: string;
  email?: string;
  org?: string;
  org_name?: string;
  scope?: string;
  roles?: string[];
  exp?: number;
  [claim: string]: unknown;
}

export function decodeClaims(token: string): TokenClaims {
  const payload = token.split(".")[1];
  if (!payload) {
    return {};
  }
  try {
    const padded = payload.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null ? (claims as TokenClaims) : {};
  } catch {
    return {};
  }
}
