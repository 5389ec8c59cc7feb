// Yunfab's GraphiQL: sign in through the hub (OAuth 2.0 authorization code with PKCE, public
// client `yunfab-graphiql`), keep the tokens for this tab only (sessionStorage), refresh them
// with the refresh token, and send the access token with every operation: an Authorization
// header over HTTP, the `connection_init` payload over graphql-transport-ws. Served as a file so
// the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  const root = document.getElementById("graphiql");
  const config = root.dataset;
  const signInButton = document.getElementById("yunfab-sign-in");
  const signOutButton = document.getElementById("yunfab-sign-out");
  const who = document.getElementById("yunfab-who");
  const storageKey = "yunfab-graphiql:" + (config.issuer || "") + "|" + (config.resource || "");
  const pendingKey = storageKey + ":pending";

  function base64url(bytes) {
    let text = "";
    bytes.forEach(function (byte) {
      text += String.fromCharCode(byte);
    });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(length) {
    return base64url(crypto.getRandomValues(new Uint8Array(length)));
  }

  async function s256(verifier) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }

  let discovered = null;
  async function endpoints() {
    // The hub's discovery document; its well-known paths when it cannot be read.
    if (discovered === null) {
      discovered = {
        authorization_endpoint: config.issuer + "/oauth/authorize",
        token_endpoint: config.issuer + "/oauth/token",
        scopes_supported: [],
      };
      try {
        const response = await fetch(config.issuer + "/.well-known/openid-configuration");
        if (response.ok) {
          discovered = Object.assign(discovered, await response.json());
        }
      } catch (error) {
        console.warn("discovery failed; using the hub's usual endpoints", error);
      }
    }
    return discovered;
  }

  function savedTokens() {
    try {
      return JSON.parse(sessionStorage.getItem(storageKey) || "null");
    } catch (error) {
      return null;
    }
  }

  function saveTokens(answer) {
    const previous = savedTokens() || {};
    const tokens = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token || previous.refresh_token || null,
      expires_at: Date.now() + 1000 * (answer.expires_in || 300),
    };
    sessionStorage.setItem(storageKey, JSON.stringify(tokens));
    showState();
    return tokens;
  }

  function forgetTokens() {
    sessionStorage.removeItem(storageKey);
    showState();
  }

  async function tokenRequest(fields) {
    const where = await endpoints();
    const body = new URLSearchParams(fields);
    body.set("client_id", config.clientId);
    if (config.resource) {
      body.set("resource", config.resource);
    }
    const response = await fetch(where.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
    });
    const answer = await response.json().catch(function () {
      return {};
    });
    if (!response.ok || !answer.access_token) {
      throw new Error(answer.error_description || answer.error || "token request failed");
    }
    return saveTokens(answer);
  }

  async function signIn() {
    const where = await endpoints();
    const verifier = randomString(48);
    const state = randomString(24);
    sessionStorage.setItem(
      pendingKey,
      JSON.stringify({ verifier: verifier, state: state, back: location.search })
    );
    const url = new URL(where.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", config.clientId);
    url.searchParams.set("redirect_uri", config.redirectUri);
    url.searchParams.set("code_challenge", await s256(verifier));
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("state", state);
    if (where.scopes_supported && where.scopes_supported.length) {
      url.searchParams.set("scope", where.scopes_supported.join(" "));
    }
    if (config.resource) {
      url.searchParams.set("resource", config.resource);
    }
    location.assign(url.toString());
  }

  async function finishSignIn() {
    // Back from the hub at /graphiql/callback: the state must be the one this tab sent.
    const params = new URLSearchParams(location.search);
    const pending = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
    sessionStorage.removeItem(pendingKey);
    history.replaceState(null, "", "/graphiql" + ((pending && pending.back) || ""));
    if (params.get("error")) {
      throw new Error(params.get("error_description") || params.get("error"));
    }
    if (!pending || !params.get("code") || params.get("state") !== pending.state) {
      throw new Error("the sign-in answer does not match this tab's request; sign in again");
    }
    await tokenRequest({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: config.redirectUri,
      code_verifier: pending.verifier,
    });
  }

  let refreshing = null;
  async function accessToken() {
    // The current access token, refreshed shortly before it expires; null when signed out.
    const tokens = savedTokens();
    if (!tokens) {
      return null;
    }
    if (tokens.expires_at - 30000 > Date.now()) {
      return tokens.access_token;
    }
    if (!tokens.refresh_token) {
      forgetTokens();
      return null;
    }
    if (refreshing === null) {
      refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })
        .catch(function (error) {
          forgetTokens();
          showMessage("Signed out: " + error.message);
          return null;
        })
        .finally(function () {
          refreshing = null;
        });
    }
    const refreshed = await refreshing;
    return refreshed ? refreshed.access_token : null;
  }

  function showState() {
    const signedIn = savedTokens() !== null;
    who.textContent = signedIn ? "Signed in" : "Not signed in";
    signInButton.hidden = signedIn || !config.issuer;
    signOutButton.hidden = !signedIn;
  }

  function showMessage(text) {
    who.textContent = text;
  }

  async function httpFetch(params) {
    const headers = {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
    };
    const token = await accessToken();
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    const response = await fetch(config.endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
    });
    return response.json();
  }

  const socketUrl = new URL(config.endpoint, location.href);
  socketUrl.protocol = socketUrl.protocol === "https:" ? "wss:" : "ws:";
  const sockets = graphqlWs.createClient({
    url: socketUrl.toString(),
    lazy: true,
    connectionParams: async function () {
      const token = await accessToken();
      return token ? { Authorization: "Bearer " + token } : {};
    },
  });

  function isSubscription(params, options) {
    const document = options && options.documentAST;
    if (!document) {
      return /^\s*subscription\b/.test(params.query || "");
    }
    return document.definitions.some(function (definition) {
      return (
        definition.kind === "OperationDefinition" &&
        definition.operation === "subscription" &&
        (!params.operationName ||
          (definition.name && definition.name.value === params.operationName))
      );
    });
  }

  function fetcher(params, options) {
    return isSubscription(params, options) ? sockets.iterate(params) : httpFetch(params);
  }

  function render() {
    const initial = new URLSearchParams(location.search).get("q");
    const props = { fetcher: fetcher, shouldPersistHeaders: false };
    if (initial) {
      props.query = initial;
    }
    root.textContent = "";
    ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
  }

  signInButton.addEventListener("click", function () {
    signIn().catch(function (error) {
      showMessage("Sign-in failed: " + error.message);
    });
  });
  signOutButton.addEventListener("click", function () {
    forgetTokens();
    sockets.terminate();
  });

  const start = location.pathname.endsWith("/graphiql/callback")
    ? finishSignIn()
    : Promise.resolve();
  start
    .catch(function (error) {
      showMessage("Sign-in failed: " + error.message);
    })
    .finally(function () {
      if (who.textContent.indexOf("failed") < 0) {
        showState();
      }
      render();
    });
})();
