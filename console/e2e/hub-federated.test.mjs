// Federated learning from the hub's console: the hub operator starts a small FedAvg run over
// the demo's two nodes (the API's refusal of an impossible SecAgg+ setting shown first), then
// watches its rounds arrive on the run page's charts and table, pushed by
// `federatedRunProgress` without a reload, until it finishes and registers its model; the model
// page shows its lineage and the market release it became, and the registry lists it. Every page
// passes axe and is screenshotted. The run's label is unique to this test run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  checkA11y,
  demoUser,
  e2eEnv,
  launch,
  newPage,
  screenshot,
  signInAtHub,
} from "./support.mjs";

const env = e2eEnv();
const LABEL = `e2e-${Date.now().toString(36)}`;
/** Two Flower rounds over two nodes take about half a minute on an idle machine (a process per
 * message, 3 s polling); on a busy one (CI runs, other demos) minutes: the first round is
 * watched arriving, then the end is waited for longer. */
const FIRST_ROUND_MS = 240_000;
const FINISH_MS = 420_000;
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** The InputNumber or Input labelled `label` in the open dialog. */
function field(dialog, label) {
  return dialog.getByLabel(label, { exact: true });
}

async function settle(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
}

test("the hub operator starts a run, watches its rounds arrive live and opens its model", async () => {
  const operator = demoUser(env, "hub operator");
  const page = await newPage(browser, { locale: "en" });
  await signInAtHub(page, env, operator, "/federated");
  await page.getByRole("heading", { name: "Federated learning", exact: true }).waitFor();
  await settle(page);
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  await checkA11y(page, "federated runs");
  await screenshot(page, env, "hub-federated-runs");

  // The start form: SecAgg+ with one node is refused by the API, with its reason.
  await page.getByTestId("start-run").click();
  await page.waitForURL((url) => url.searchParams.get("start") === "1");
  const dialog = page.getByRole("dialog");
  await dialog.getByText("Start a federated run").waitFor();
  await field(dialog, "Label").fill(LABEL);
  await field(dialog, "Rounds").fill("2");
  await field(dialog, "Local epochs").fill("1");
  await field(dialog, "Minimum nodes").fill("1");
  await dialog.getByText("SecAgg+", { exact: true }).click();
  await checkA11y(page, "start run form");
  await screenshot(page, env, "hub-federated-start");
  await page.getByTestId("start-run-submit").click();
  const refusal = dialog.locator(".ant-alert-error");
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /min_nodes >= 2.*INVALID_INPUT/s);

  // Two nodes, no SecAgg+: the run starts and the page follows it.
  await field(dialog, "Minimum nodes").fill("2");
  await dialog.getByText("None", { exact: true }).click();
  await page.getByTestId("start-run-submit").click();
  await page.waitForURL((url) => url.pathname.startsWith("/federated/runs/"));
  const runPath = new URL(page.url()).pathname;
  await page.getByTestId("run-title").filter({ hasText: LABEL }).waitFor();
  await page.getByText("Live updates").waitFor();
  let loads = 0;
  page.on("load", () => {
    loads += 1;
  });

  // Round 1 arrives on the table and the charts while the run goes on.
  const rows = page.getByTestId("rounds-table").locator(".ant-table-row");
  await rows.first().waitFor({ timeout: FIRST_ROUND_MS });
  assert.ok((await rows.count()) >= 2, "a row per node for round 1");
  const charts = page.getByTestId("round-charts").locator('[role="img"]');
  await charts.first().waitFor();
  const chartLabel = await charts.first().getAttribute("aria-label");
  assert.match(chartLabel, /zj-textile/);
  assert.match(chartLabel, /gd-injection-moulding/);
  await checkA11y(page, "federated run (running)");
  await screenshot(page, env, "hub-federated-run-live");

  // It finishes on its own: status, every round, the model, all without reloading the page.
  await page
    .getByTestId("run-status")
    .filter({ hasText: /^(Finished|Failed)$/ })
    .waitFor({ timeout: FINISH_MS });
  assert.equal((await page.getByTestId("run-status").textContent()).trim(), "Finished");
  await page.getByTestId("rounds-done").filter({ hasText: "2 of 2 rounds done" }).waitFor();
  assert.equal(loads, 0, "the page was reloaded");
  assert.equal(await rows.count(), 4, "two rounds of two nodes");
  await checkA11y(page, "federated run (finished)");
  await screenshot(page, env, "hub-federated-run");

  // The model it registered: lineage back to this run, and the market release it became.
  await page.getByTestId("run-model-link").click();
  await page.waitForURL((url) => url.pathname.startsWith("/federated/models/"));
  await page.getByTestId("model-title").waitFor();
  await settle(page);
  assert.equal(await page.getByTestId("model-run-link").getAttribute("href"), runPath);
  await page.getByText("zj-textile", { exact: true }).waitFor();
  const release = page.getByTestId("model-release-link");
  await release.waitFor();
  assert.match(await release.getAttribute("href"), /^\/market\/releases\/[0-9a-f-]{36}$/);
  await checkA11y(page, "global model");
  await screenshot(page, env, "hub-federated-model");
  const title = (await page.getByTestId("model-title").textContent()).trim();

  // The registry lists it.
  await page.getByRole("link", { name: "← Model registry" }).click();
  await page.getByRole("heading", { name: "Model registry", exact: true }).waitFor();
  await settle(page);
  await page.getByRole("link", { name: title, exact: true }).waitFor();
  await checkA11y(page, "model registry");
  await screenshot(page, env, "hub-federated-models");
  assert.deepEqual(page.problems, []);
});
