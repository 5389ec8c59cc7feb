/**
 * `fetch` for the GraphQL endpoint: the bearer token on every request; when the API says the
 * token is not (or no longer) good (HTTP 401 or a GraphQL error coded UNAUTHENTICATED), one
 * refresh and one retry, then `onSignedOut` (sign in again).
 */
import type { TokenManager } from "../auth/tokens";

async function unauthenticated(response: Response): Promise<boolean> {
  if (response.status === 401) {
    return true;
  }
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) {
    return false;
  }
  try {
    const body = (await response.clone().json()) as {
      errors?: { extensions?: { code?: string } }[];
    };
    return (body.errors ?? []).some((error) => error.extensions?.code === "UNAUTHENTICATED");
  } catch {
    return false;
  }
}

export function authFetch(
  tokens: Pick<TokenManager, "accessToken" | "refresh">,
  onSignedOut: () => void,
  base: typeof fetch = (input, init) => globalThis.fetch(input, init),
): typeof fetch {
  const send = (input: RequestInfo | URL, init: RequestInit | undefined, token: string | null) => {
    const headers = new Headers(init?.headers);
    if (token) {
      headers.set("Authorization", `Bearer ${token}`);
    }
    return base(input, { ...init, headers });
  };
  return async (input, init) => {
    const token = await tokens.accessToken();
    const response = await send(input, init, token);
    if (!token || !(await unauthenticated(response))) {
      return response;
    }
    const renewed = await tokens.refresh(token).catch(() => null);
    if (!renewed) {
      onSignedOut();
      return response;
    }
    const retried = await send(input, init, renewed.accessToken);
    if (await unauthenticated(retried)) {
      onSignedOut();
    }
    return retried;
  };
}
