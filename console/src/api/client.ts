import { createClient as createWsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import type { Session } from "../auth/session";
import { authFetch } from "./authFetch";

/** Close codes of the node's subscriptions: token expired or revoked, token refused. */
const TOKEN_EXPIRED = 4401;
const TOKEN_REFUSED = 4403;

/** The console's one GraphQL client: HTTP for queries and mutations, graphql-ws for the rest. */
export function createApiClient(session: Session, onSignedOut: () => void): Client {
  const { config, tokens } = session;
  let lastToken: string | null = null;
  const ws = createWsClient({
    url: new URL(config.graphqlWsUrl, window.location.href).toString(),
    lazy: true,
    // The browser cannot set headers on the upgrade: the token goes in connection_init.
    connectionParams: async () => {
      lastToken = await tokens.accessToken();
      return lastToken ? { Authorization: `Bearer ${lastToken}` } : {};
    },
    retryAttempts: 5,
    shouldRetry: () => true,
    on: {
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (code === TOKEN_EXPIRED || code === TOKEN_REFUSED) {
          // Renew before the client reconnects; a failed renewal means signing in again.
          const spent = lastToken ?? undefined;
          void tokens.refresh(spent).then((renewed) => {
            if (!renewed) {
              onSignedOut();
            }
          });
        }
      },
    },
  });
  return new Client({
    url: new URL(config.graphqlUrl, window.location.href).toString(),
    fetch: authFetch(tokens, onSignedOut),
    requestPolicy: "cache-and-network",
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
