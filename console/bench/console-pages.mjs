// The console's page timings for benchmarks/console.py, against a running `yunfab demo` (the
// same environment as the e2e tests: YUNFAB_E2E_HUB_URL, YUNFAB_E2E_NODE_URL, YUNFAB_E2E_USERS).
//
// 1. Time to interactive of each page in the menu (and a device's page), in headless Chromium,
//    as the node operator on the node and as the hub operator on the hub: from the start of a full load of the address to the moment the page's
//    heading is on screen and no skeleton (a query still loading) is left. The shell alone (an
//    unknown address: the not-found page) is the reference.
// 2. MQTT publish -> drawn: a device is provisioned through the console, its page opened, and
//    readings published over MQTT to the demo's broker with the publish time as their `ts`; the
//    page sets a performance mark when a new last point is on screen. Delay = mark time - ts.
//
// Prints one JSON line. Options: --visits N (full loads per page), --readings N, --interval-ms N.
import { parseArgs } from "node:util";
import { connectDevice, demoBroker } from "../e2e/mqtt.mjs";
import { demoUser, e2eEnv, launch, newPage, signIn, signInAtHub } from "../e2e/support.mjs";

const { values: options } = parseArgs({
  options: {
    visits: { type: "string", default: "3" },
    readings: { type: "string", default: "50" },
    "interval-ms": { type: "string", default: "200" },
  },
});
const VISITS = Number(options.visits);
const READINGS = Number(options.readings);
const INTERVAL_MS = Number(options["interval-ms"]);
const DRAWN_MARK = "yunfab:telemetry-drawn";

const env = e2eEnv();

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: quantile(sorted, 0.5),
    p95_ms: quantile(sorted, 0.95),
    max_ms: sorted[sorted.length - 1] ?? null,
  };
}

/** A full load of `path`, until its heading is shown and nothing is loading; ms since navigation. */
async function interactive(page, path, base = env.nodeUrl) {
  await page.goto(`${base}${path}`, { waitUntil: "commit" });
  await page.waitForFunction(
    () => {
      const main = document.querySelector(".ant-layout-content") ?? document.body;
      const heading = main.querySelector("h2, .ant-result-title");
      return (
        heading !== null &&
        heading.getBoundingClientRect().height > 0 &&
        !main.querySelector(".ant-skeleton, .ant-spin-spinning")
      );
    },
    null,
    { timeout: 30_000, polling: "raf" },
  );
  return page.evaluate(() => performance.now());
}

async function pageTimes(page) {
  await page.goto(`${env.nodeUrl}/`);
  await page.locator("nav a[href]").first().waitFor();
  // Entries that depend on what the person may do appear once the node answered.
  await page.waitForLoadState("networkidle");
  const paths = await page
    .locator("nav a[href]")
    .evaluateAll((links) => links.map((link) => new URL(link.href).pathname));
  await page.goto(`${env.nodeUrl}/devices`);
  const deviceLink = page.locator('[data-testid^="device-link-"]').first();
  await deviceLink.waitFor();
  paths.push(new URL(await deviceLink.evaluate((link) => link.href)).pathname);
  const results = {};
  for (const path of ["/no-such-page", ...paths]) {
    const samples = [];
    for (let visit = 0; visit < VISITS; visit++) samples.push(await interactive(page, path));
    const key =
      path === "/no-such-page" ? "shell (not found)" : path.replace(/[0-9a-f-]{36}$/, ":id");
    results[key] = summary(samples);
  }
  return results;
}

/** The hub's menu pages as the hub operator (who sees every area but the board's posting). */
async function hubPageTimes(browser) {
  const page = await newPage(browser, { locale: "en" });
  await signInAtHub(page, env, demoUser(env, "hub operator"), "/");
  await page.locator("nav a[href]").first().waitFor();
  await page.waitForLoadState("networkidle");
  const paths = await page
    .locator("nav a[href]")
    .evaluateAll((links) => links.map((link) => new URL(link.href).pathname));
  const results = {};
  for (const path of ["/no-such-page", ...paths]) {
    const samples = [];
    for (let visit = 0; visit < VISITS; visit++) {
      samples.push(await interactive(page, path, env.hubUrl));
    }
    results[path === "/no-such-page" ? "shell (not found)" : path] = summary(samples);
  }
  await page.context().close();
  return results;
}

async function provisionProbe(page) {
  await page.goto(`${env.nodeUrl}/devices`);
  await page.getByRole("button", { name: /(登记设备|Provision device)$/ }).click();
  const dialog = page.locator(".ant-modal").filter({ has: page.locator("form") });
  await dialog.locator("#factoryId").click();
  await page.locator(".ant-select-item-option").first().click();
  const key = dialog.locator("#key");
  const suffix = `bench-${Date.now().toString(36)}`;
  await key.fill(`${await key.inputValue()}${suffix}`);
  await dialog.locator("#name").fill(`Bench probe ${suffix}`);
  await dialog.locator("#type").fill("bench_probe");
  await dialog.locator("#metrics_0_name").fill("latency_probe");
  await dialog.locator("#metrics_0_unit").fill("1");
  await dialog.locator(".ant-btn-primary").click();
  const username = ((await page.getByTestId("credentials-username").textContent()) ?? "").trim();
  const password = ((await page.getByTestId("credentials-password").textContent()) ?? "").trim();
  await page.getByRole("button", { name: /(打开设备|open the device)$/ }).click();
  await page.waitForURL(/\/devices\/[0-9a-f-]{36}/);
  await page.getByTestId("telemetry-last-value").waitFor();
  return { username, password };
}

async function drawDelays(page) {
  const config = await (await fetch(`${env.nodeUrl}/console/config.json`)).json();
  const broker = demoBroker(process.env.YUNFAB_E2E_USERS, config.nodeName);
  const { username, password } = await provisionProbe(page);
  const device = await connectDevice(broker, username, password);
  const topic = `yunfab/v1/telemetry/${username}`;
  const sent = [];
  try {
    // Let the page's subscription open before the first reading.
    await page.waitForTimeout(1000);
    for (let i = 0; i < READINGS; i++) {
      const ts = Date.now();
      sent.push(ts);
      await device.publish(topic, JSON.stringify({ ts, metrics: { latency_probe: i } }));
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
    const last = sent[sent.length - 1];
    await page
      .waitForFunction(
        ([mark, at]) => performance.getEntriesByName(mark).some((entry) => entry.detail?.at === at),
        [DRAWN_MARK, last],
        { timeout: 10_000 },
      )
      .catch(() => {});
  } finally {
    device.close();
  }
  const drawn = await page.evaluate(
    (mark) =>
      performance.getEntriesByName(mark).map((entry) => ({
        at: entry.detail?.at,
        drawnAt: performance.timeOrigin + entry.startTime,
      })),
    DRAWN_MARK,
  );
  const firstDrawn = new Map();
  for (const entry of drawn) if (!firstDrawn.has(entry.at)) firstDrawn.set(entry.at, entry.drawnAt);
  const delays = sent.filter((ts) => firstDrawn.has(ts)).map((ts) => firstDrawn.get(ts) - ts);
  return { ...summary(delays), published: sent.length, drawn: delays.length };
}

const browser = await launch();
try {
  const page = await newPage(browser, { locale: "en" });
  await signIn(page, env, demoUser(env, "node operator"), "/");
  await page.locator("nav a[href]").first().waitFor();
  const pages = await pageTimes(page);
  const mqtt = await drawDelays(page);
  const hubPages = await hubPageTimes(browser);
  console.log(JSON.stringify({ pages, hub_pages: hubPages, mqtt_to_chart: mqtt, visits: VISITS }));
} finally {
  await browser.close();
}
