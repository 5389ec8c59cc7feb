// A minimal MQTT 3.1.1 publisher (CONNECT, PUBLISH at QoS 1, PUBACK, DISCONNECT) over a plain
// socket, so the console's end-to-end test and benchmark can speak to the demo's broker as a
// device would, with no extra package. Also: where the demo's broker for a node listens.
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

function encodeLength(length) {
  const bytes = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function utf8(text) {
  const body = Buffer.from(text, "utf8");
  const size = Buffer.alloc(2);
  size.writeUInt16BE(body.length);
  return Buffer.concat([size, body]);
}

function packet(type, variable) {
  return Buffer.concat([Buffer.from([type]), encodeLength(variable.length), variable]);
}

/**
 * A connected device session: `publish(topic, payload)` resolves once the broker acknowledged
 * (PUBACK); `close()` disconnects. Rejects when the broker refuses the connection.
 */
export async function connectMqtt({
  host,
  port,
  clientId,
  username,
  password,
  timeoutMs = 10_000,
}) {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  let buffer = Buffer.alloc(0);
  const waiting = new Map();
  let onConnack;
  const fail = (error) => {
    onConnack?.reject(error);
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the broker closed the connection")));
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2) {
      let multiplier = 1;
      let length = 0;
      let offset = 1;
      let byte;
      do {
        if (offset >= buffer.length) return;
        byte = buffer[offset++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
      } while (byte & 0x80);
      if (buffer.length < offset + length) return;
      const type = buffer[0] >> 4;
      const body = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (type === 2) {
        const code = body[1];
        if (code === 0) onConnack?.resolve();
        else onConnack?.reject(new Error(`the broker refused the connection (code ${code})`));
        onConnack = undefined;
      } else if (type === 4) {
        const id = body.readUInt16BE(0);
        waiting.get(id)?.resolve();
        waiting.delete(id);
      }
    }
  });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const flags = 0x80 | 0x40 | 0x02; // user name, password, clean session
  const variable = Buffer.concat([
    utf8("MQTT"),
    Buffer.from([4, flags, 0, 60]),
    utf8(clientId),
    utf8(username),
    utf8(password),
  ]);
  const connected = new Promise((resolve, reject) => {
    onConnack = { resolve, reject };
  });
  socket.write(packet(0x10, variable));
  await withTimeout(connected, timeoutMs, "CONNACK");
  let nextId = 1;
  return {
    async publish(topic, payload) {
      const id = nextId;
      nextId = (nextId % 65535) + 1;
      const idBytes = Buffer.alloc(2);
      idBytes.writeUInt16BE(id);
      const acked = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
      socket.write(packet(0x32, Buffer.concat([utf8(topic), idBytes, Buffer.from(payload)])));
      await withTimeout(acked, timeoutMs, "PUBACK");
    },
    close() {
      socket.removeAllListeners("close");
      socket.end(Buffer.from([0xe0, 0]));
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} from the broker in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Where the demo's own Mosquitto for `nodeName` listens: `yunfab demo` writes its config under the
 * data folder (the folder of demo-users.json).
 */
export function demoBroker(usersFile, nodeName) {
  const config = readFileSync(
    path.join(path.dirname(usersFile), "nodes", nodeName, "broker", "mosquitto.conf"),
    "utf8",
  );
  const match = /^listener\s+(\d+)\s+(\S+)/m.exec(config);
  if (!match) throw new Error(`no listener in the ${nodeName} broker's config`);
  return { host: match[2], port: Number(match[1]) };
}

/** Connects as a device, retrying a refusal for a while (its broker client is being created). */
export async function connectDevice(broker, username, password, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await connectMqtt({ ...broker, clientId: username, username, password });
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
