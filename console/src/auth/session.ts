/**
 * Sign-in with the hub (authorization code + PKCE as the public client `yunfab-console`),
 * its callback, and sign-out through the hub's `/oauth/logout`.
 */
import type { ConsoleConfig } from "../config";
import { createPkcePair, randomString } from "./pkce";
import { localTokenStorage, TokenManager } from "./tokens";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint: string;
  scopes_supported: string[];
}

interface PendingSignIn {
  verifier: string;
  state: string;
  returnTo: string;
}

const PENDING_KEY = "yunfab-console:sign-in";

export class Session {
  readonly tokens: TokenManager;
  private discovery: Promise<Discovery> | null = null;

  constructor(readonly config: ConsoleConfig) {
    this.tokens = new TokenManager({
      tokenEndpoint: async () => (await this.discover()).token_endpoint,
      clientId: config.clientId,
      resource: config.resource,
      storage: localTokenStorage(`yunfab-console:tokens:${config.issuer}|${config.resource}`),
    });
  }

  /** The hub's endpoints from its discovery document (its usual paths if that fails). */
  discover(): Promise<Discovery> {
    if (!this.discovery) {
      const issuer = this.config.issuer.replace(/\/+$/, "");
      const fallback: Discovery = {
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        end_session_endpoint: `${issuer}/oauth/logout`,
        scopes_supported: [],
      };
      this.discovery = fetch(`${issuer}/.well-known/openid-configuration`)
        .then(async (response) =>
          response.ok
            ? { ...fallback, ...((await response.json()) as Partial<Discovery>) }
            : fallback,
        )
        .catch(() => fallback);
    }
    return this.discovery;
  }

  /** Sends the browser to the hub; `returnTo` is where the console opens afterwards. */
  async signIn(returnTo: string, language: string): Promise<void> {
    const where = await this.discover();
    const pkce = await createPkcePair();
    const pending: PendingSignIn = { verifier: pkce.verifier, state: randomString(24), returnTo };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(where.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", this.config.clientId);
    url.searchParams.set("redirect_uri", this.config.redirectUri);
    url.searchParams.set("code_challenge", pkce.challenge);
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("state", pending.state);
    url.searchParams.set("resource", this.config.resource);
    url.searchParams.set("ui_locales", language);
    // Asking for every scope is asking for "whatever my roles give": the hub grants no more.
    const scopes = where.scopes_supported.length
      ? where.scopes_supported
      : ["openid", "profile", "email"];
    url.searchParams.set("scope", scopes.join(" "));
    window.location.assign(url.toString());
  }

  /** Back at `/auth/callback`: the answer must carry this tab's state. Returns where to go. */
  async completeSignIn(search: string): Promise<string> {
    const params = new URLSearchParams(search);
    const raw = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    const pending = raw ? (JSON.parse(raw) as PendingSignIn) : null;
    const error = params.get("error");
    if (error) {
      throw new Error(params.get("error_description") ?? error);
    }
    const code = params.get("code");
    if (!pending || !code || params.get("state") !== pending.state) {
      throw new Error("state_mismatch");
    }
    await this.tokens.exchangeCode(code, pending.verifier, this.config.redirectUri);
    return pending.returnTo.startsWith("/") && !pending.returnTo.startsWith("//")
      ? pending.returnTo
      : "/";
  }

  /** Forgets the tokens here and ends the sign-in at the hub (which revokes its refresh tokens). */
  async signOut(): Promise<void> {
    const where = await this.discover();
    const idToken = this.tokens.current()?.idToken;
    this.tokens.clear();
    const url = new URL(where.end_session_endpoint);
    url.searchParams.set("client_id", this.config.clientId);
    url.searchParams.set("post_logout_redirect_uri", this.config.postLogoutRedirectUri);
    url.searchParams.set("state", randomString(16));
    if (idToken) {
      url.searchParams.set("id_token_hint", idToken);
    }
    window.location.assign(url.toString());
  }
}
