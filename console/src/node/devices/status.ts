/** Whether a device is online, offline or never seen, as the node's overview counts it. */

export type Presence = "ONLINE" | "OFFLINE" | "NEVER_SEEN";

/** The node's DEVICE_ONLINE_WINDOW_S by default; the overview states the node's own. */
export const DEFAULT_ONLINE_WINDOW_S = 300;

export interface PresenceInput {
  lastSeenAt: string | null | undefined;
  /** The Sparkplug connection state (UNKNOWN for devices that speak plain JSON). */
  connection: string;
}

/**
 * Online while Sparkplug says so or while the last reading is at most `windowS` old; never seen
 * when nothing of the device arrived; offline otherwise.
 */
export function presence(
  device: PresenceInput,
  now: number = Date.now(),
  windowS: number = DEFAULT_ONLINE_WINDOW_S,
): Presence {
  if (device.connection === "ONLINE") return "ONLINE";
  if (!device.lastSeenAt) return "NEVER_SEEN";
  const seen = Date.parse(device.lastSeenAt);
  if (Number.isNaN(seen)) return "NEVER_SEEN";
  return now - seen <= windowS * 1000 ? "ONLINE" : "OFFLINE";
}

export const PRESENCE_COLORS: Record<Presence, string> = {
  ONLINE: "success",
  OFFLINE: "error",
  NEVER_SEEN: "default",
};

export const STATUS_COLORS: Record<string, string> = {
  PROVISIONED: "processing",
  ACTIVE: "success",
  SUSPENDED: "warning",
  RETIRED: "default",
};

/** The file a person downloads with a device's credentials (shown once). */
export function credentialsFile(input: {
  username: string;
  password: string;
  deviceId: string;
  telemetryTopic: string;
  nodeUrl: string;
}): { name: string; text: string } {
  const body = {
    device_id: input.deviceId,
    username: input.username,
    password: input.password,
    mqtt_client_id: input.username,
    telemetry_topic: input.telemetryTopic,
    http_ingest_url: `${input.nodeUrl.replace(/\/+$/, "")}/api/v1/telemetry`,
  };
  return {
    name: `${input.username.replace(/[^A-Za-z0-9._-]/g, "_")}-credentials.json`,
    text: `${JSON.stringify(body, null, 2)}\n`,
  };
}

/** Device keys as the node accepts them: a slug (lower case, digits, dashes), `<factory slug>-...`. */
export const DEVICE_KEY_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Metric names as the node accepts them, e.g. clamp_force_kn. */
export const METRIC_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** The bytes of a dead letter as text when they are UTF-8, else as hex (the first 4 KiB). */
export function payloadPreview(base64: string, maxBytes = 4096): { text: string; binary: boolean } {
  let bytes: Uint8Array;
  try {
    const raw = atob(base64);
    bytes = Uint8Array.from(raw.slice(0, maxBytes), (c) => c.charCodeAt(0));
  } catch {
    return { text: "", binary: true };
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), binary: false };
  } catch {
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    return { text: hex, binary: true };
  }
}

/** Device types as the node accepts them, e.g. injection_moulding. */
export const DEVICE_TYPE_PATTERN = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;
