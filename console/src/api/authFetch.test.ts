import { describe, expect, it, vi } from "vitest";
import type { TokenSet } from "../auth/tokens";
import { authFetch } from "./authFetch";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

function fakeTokens(renewed: TokenSet | null) {
  let current = "old";
  return {
    accessToken: vi.fn(async () => current),
    refresh: vi.fn(async () => {
      if (renewed) current = renewed.accessToken;
      return renewed;
    }),
  };
}

const fresh: TokenSet = { accessToken: "new", refreshToken: "r", idToken: null, expiresAt: 0 };

describe("authFetch", () => {
  it("sends the bearer token", async () => {
    const base = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) =>
      json({ data: {} }),
    );
    const signedOut = vi.fn();
    await authFetch(fakeTokens(fresh), signedOut, base)("/graphql", { method: "POST" });
    expect(new Headers(base.mock.calls[0]?.[1]?.headers).get("Authorization")).toBe("Bearer old");
    expect(signedOut).not.toHaveBeenCalled();
  });

  it("refreshes once on UNAUTHENTICATED and retries with the new token", async () => {
    const base = vi
      .fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>()
      .mockResolvedValueOnce(
        json({ errors: [{ message: "no", extensions: { code: "UNAUTHENTICATED" } }] }),
      )
      .mockResolvedValueOnce(json({ data: { node: {} } }));
    const tokens = fakeTokens(fresh);
    const signedOut = vi.fn();
    const response = await authFetch(tokens, signedOut, base)("/graphql", { method: "POST" });
    expect(await response.json()).toEqual({ data: { node: {} } });
    expect(tokens.refresh).toHaveBeenCalledWith("old");
    expect(new Headers(base.mock.calls[1]?.[1]?.headers).get("Authorization")).toBe("Bearer new");
    expect(signedOut).not.toHaveBeenCalled();
  });

  it("asks to sign in again when the refresh fails or the new token is refused too", async () => {
    const refused = () => json({ detail: "expired" }, 401);
    const signedOut = vi.fn();
    await authFetch(
      fakeTokens(null),
      signedOut,
      vi.fn(async () => refused()),
    )("/graphql");
    expect(signedOut).toHaveBeenCalledTimes(1);
    const base = vi.fn(async () => refused());
    await authFetch(fakeTokens(fresh), signedOut, base)("/graphql");
    expect(base).toHaveBeenCalledTimes(2);
    expect(signedOut).toHaveBeenCalledTimes(2);
  });
});
