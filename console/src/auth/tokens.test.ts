import { describe, expect, it, vi } from "vitest";
import { type LockRunner, TokenManager, type TokenSet, type TokenStorage } from "./tokens";

function memoryStorage(initial: TokenSet | null): TokenStorage & { value: TokenSet | null } {
  return {
    value: initial,
    load() {
      return this.value ? { ...this.value } : null;
    },
    save(tokens) {
      this.value = tokens ? { ...tokens } : null;
    },
  };
}

/** A lock shared by "tabs": tasks run one after the other. */
function sharedLock(): LockRunner {
  let tail: Promise<unknown> = Promise.resolve();
  return (_name, task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function tokenAnswer(n: number) {
  return new Response(
    JSON.stringify({ access_token: `access-${n}`, refresh_token: `refresh-${n}`, expires_in: 300 }),
    { status: 200, headers: { "Content-Type": "application/json" } },
  );
}

function manager(storage: TokenStorage, fetch: typeof globalThis.fetch, lock = sharedLock()) {
  return new TokenManager({
    tokenEndpoint: async () => "https://hub.example/oauth/token",
    clientId: "yunfab-console",
    resource: "https://node.example",
    storage,
    fetch,
    lock,
    now: () => 1_000_000,
  });
}

const expired: TokenSet = {
  accessToken: "access-0",
  refreshToken: "refresh-0",
  idToken: "id-0",
  expiresAt: 1_000_000 - 1,
};

describe("TokenManager", () => {
  it("sends a refresh token once however many callers need a new token", async () => {
    const storage = memoryStorage(expired);
    const spent: string[] = [];
    let n = 0;
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      const body = new URLSearchParams(init?.body as URLSearchParams);
      spent.push(body.get("refresh_token") ?? "");
      expect(body.get("grant_type")).toBe("refresh_token");
      expect(body.get("client_id")).toBe("yunfab-console");
      expect(body.get("resource")).toBe("https://node.example");
      await new Promise((resolve) => setTimeout(resolve, 5));
      n += 1;
      return tokenAnswer(n);
    });
    const tokens = manager(storage, fetch);
    const answers = await Promise.all([
      tokens.accessToken(),
      tokens.accessToken(),
      tokens.refresh("access-0"),
    ]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(answers).toEqual([
      "access-1",
      "access-1",
      expect.objectContaining({ accessToken: "access-1" }),
    ]);
    expect(storage.value).toMatchObject({ refreshToken: "refresh-1", idToken: "id-0" });

    // The next refresh spends the rotated token, never the first one again.
    await tokens.refresh("access-1");
    expect(spent).toEqual(["refresh-0", "refresh-1"]);
  });

  it("uses what another tab renewed while it waited for the lock", async () => {
    const storage = memoryStorage(expired);
    const lock = sharedLock();
    let n = 0;
    const fetch = vi.fn(async () => {
      n += 1;
      return tokenAnswer(n);
    });
    const tabA = manager(storage, fetch, lock);
    const tabB = manager(storage, fetch, lock);
    const [a, b] = await Promise.all([tabA.refresh("access-0"), tabB.refresh("access-0")]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(a?.accessToken).toBe("access-1");
    expect(b?.accessToken).toBe("access-1");
  });

  it("forgets the sign-in when the hub refuses the refresh token", async () => {
    const storage = memoryStorage(expired);
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ error: "invalid_grant" }), {
          status: 400,
          headers: { "Content-Type": "application/json" },
        }),
    );
    const tokens = manager(storage, fetch);
    const seen: (TokenSet | null)[] = [];
    tokens.subscribe((value) => seen.push(value));
    expect(await tokens.accessToken()).toBeNull();
    expect(storage.value).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("drops a refresh token whose request got no answer instead of sending it again", async () => {
    const storage = memoryStorage(expired);
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const tokens = manager(storage, fetch);
    await expect(tokens.refresh("access-0")).rejects.toThrow(/cannot be reached/);
    expect(storage.value?.refreshToken).toBeNull();
    expect(await tokens.refresh("access-0")).toBeNull();
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("hands out a fresh access token without asking the hub", async () => {
    const storage = memoryStorage({ ...expired, expiresAt: 1_000_000 + 120_000 });
    const fetch = vi.fn();
    expect(await manager(storage, fetch).accessToken()).toBe("access-0");
    expect(fetch).not.toHaveBeenCalled();
  });
});
