/**
 * The signed-in person's tokens and their renewal.
 *
 * The hub rotates refresh tokens and treats a spent one presented again as stolen: it revokes
 * the whole sign-in. So a refresh token is sent at most once: one refresh at a time in this tab
 * (callers share the one in flight), one at a time across tabs (a Web Lock, where the browser
 * has them, and the stored tokens read again under it: another tab may have renewed them
 * already), and a refresh token whose request got no clear answer is dropped, never retried.
 */

export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface TokenStorage {
  load(): TokenSet | null;
  save(tokens: TokenSet | null): void;
}

export class TokenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/** Runs `task` while holding the lock named `name` (across tabs where the browser can). */
export type LockRunner = <T>(name: string, task: () => Promise<T>) => Promise<T>;

export const browserLock: LockRunner = (name, task) => {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? locks.request(name, task) : task();
};

export function localTokenStorage(key: string, storage: Storage = localStorage): TokenStorage {
  return {
    load() {
      try {
        const value: unknown = JSON.parse(storage.getItem(key) ?? "null");
        if (value && typeof value === "object" && "accessToken" in value) {
          return value as TokenSet;
        }
      } catch {
        // An unreadable entry is no sign-in.
      }
      return null;
    },
    save(tokens) {
      if (tokens) {
        storage.setItem(key, JSON.stringify(tokens));
      } else {
        storage.removeItem(key);
      }
    },
  };
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

export interface TokenManagerOptions {
  tokenEndpoint: () => Promise<string>;
  clientId: string;
  resource: string;
  storage: TokenStorage;
  fetch?: typeof fetch;
  lock?: LockRunner;
  now?: () => number;
  /** Renew this long before the access token expires (it could expire on the way). */
  marginMs?: number;
}

type Listener = (tokens: TokenSet | null) => void;

export class TokenManager {
  private refreshing: Promise<TokenSet | null> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly fetch: typeof fetch;
  private readonly lock: LockRunner;
  private readonly now: () => number;
  private readonly marginMs: number;

  constructor(private readonly options: TokenManagerOptions) {
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.lock = options.lock ?? browserLock;
    this.now = options.now ?? Date.now;
    this.marginMs = options.marginMs ?? 30_000;
  }

  current(): TokenSet | null {
    return this.options.storage.load();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The access token to send now, renewed first when it is about to expire; null: sign in. */
  async accessToken(): Promise<string | null> {
    const tokens = this.current();
    if (!tokens) {
      return null;
    }
    if (tokens.expiresAt - this.marginMs > this.now()) {
      return tokens.accessToken;
    }
    const renewed = await this.refresh(tokens.accessToken);
    return renewed?.accessToken ?? null;
  }

  /**
   * New tokens for the refresh token held now. `rejected` is the access token the API refused
   * (or found expiring): when the stored one is already another, someone renewed it meanwhile
   * and that one is used. Concurrent callers share one request.
   */
  refresh(rejected?: string): Promise<TokenSet | null> {
    if (!this.refreshing) {
      this.refreshing = this.lock("yunfab-console-token-refresh", () =>
        this.refreshLocked(rejected),
      ).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async exchangeCode(code: string, verifier: string, redirectUri: string): Promise<TokenSet> {
    const answer = await this.post({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
    return this.store(answer, null);
  }

  clear(): void {
    this.options.storage.save(null);
    this.emit(null);
  }

  private async refreshLocked(rejected?: string): Promise<TokenSet | null> {
    const tokens = this.current();
    if (!tokens) {
      return null;
    }
    if (rejected !== undefined && tokens.accessToken !== rejected) {
      // Another tab (or an earlier refresh) renewed them while this one waited.
      if (tokens.expiresAt - this.marginMs > this.now()) {
        return tokens;
      }
    }
    const refreshToken = tokens.refreshToken;
    if (!refreshToken) {
      this.clear();
      return null;
    }
    // Spent from here on, whatever the answer: never sent twice.
    this.options.storage.save({ ...tokens, refreshToken: null });
    try {
      const answer = await this.post({ grant_type: "refresh_token", refresh_token: refreshToken });
      return this.store(answer, tokens);
    } catch (error) {
      if (error instanceof TokenError && error.code !== "network") {
        this.clear();
        return null;
      }
      throw error;
    }
  }

  private async post(fields: Record<string, string>): Promise<TokenAnswer> {
    const body = new URLSearchParams(fields);
    body.set("client_id", this.options.clientId);
    body.set("resource", this.options.resource);
    let response: Response;
    try {
      response = await this.fetch(await this.options.tokenEndpoint(), {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body,
      });
    } catch (error) {
      throw new TokenError(`the hub cannot be reached: ${String(error)}`, "network");
    }
    const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
    if (!response.ok || !answer.access_token) {
      throw new TokenError(
        answer.error_description ?? answer.error ?? `token request answered ${response.status}`,
        answer.error ?? `http_${response.status}`,
      );
    }
    return answer;
  }

  private store(answer: TokenAnswer, previous: TokenSet | null): TokenSet {
    const tokens: TokenSet = {
      accessToken: answer.access_token ?? "",
      refreshToken: answer.refresh_token ?? null,
      idToken: answer.id_token ?? previous?.idToken ?? null,
      expiresAt: this.now() + 1000 * (answer.expires_in ?? 300),
    };
    this.options.storage.save(tokens);
    this.emit(tokens);
    return tokens;
  }

  private emit(tokens: TokenSet | null): void {
    for (const listener of this.listeners) {
      listener(tokens);
    }
  }
}
