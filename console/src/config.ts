/** Which service serves the console: its pages, its API and its audience. */
export type Service = "hub" | "node";

/** What the serving hub or node tells the console at `GET /console/config.json`. */
export interface ConsoleConfig {
  /** The hub's URL: where people sign in and tokens come from. */
  issuer: string;
  clientId: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** The audience the node's tokens must name (RFC 8707 `resource`). */
  resource: string;
  graphqlUrl: string;
  graphqlWsUrl: string;
  /** The serving node's name, or the hub's title: the header and the tab show it. */
  nodeName: string;
  /** `hub` or `node` (a config without it is a node's). */
  service: Service;
}

const FIELDS = [
  "issuer",
  "clientId",
  "redirectUri",
  "postLogoutRedirectUri",
  "resource",
  "graphqlUrl",
  "graphqlWsUrl",
  "nodeName",
] as const;

export function parseConfig(value: unknown): ConsoleConfig {
  if (typeof value !== "object" || value === null) {
    throw new Error("console config: not a JSON object");
  }
  const record = value as Record<string, unknown>;
  const missing = FIELDS.filter((field) => typeof record[field] !== "string");
  if (missing.length > 0) {
    throw new Error(`console config: missing ${missing.join(", ")}`);
  }
  const service = record.service ?? "node";
  if (service !== "hub" && service !== "node") {
    throw new Error(`console config: service must be "hub" or "node", not ${String(service)}`);
  }
  return {
    ...(Object.fromEntries(FIELDS.map((field) => [field, record[field]])) as Omit<
      ConsoleConfig,
      "service"
    >),
    service,
  };
}

export async function loadConfig(url = "/console/config.json"): Promise<ConsoleConfig> {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`console config: ${url} answered ${response.status}`);
  }
  return parseConfig(await response.json());
}
