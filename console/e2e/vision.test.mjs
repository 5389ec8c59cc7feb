// A quality engineer (the demo's factory staff) trains an inspection model by dropping folders of
// generated images, finds it in the registry, switches the demo's station to it, watches an
// inspection (posted as a camera would) arrive in the live feed with its heatmap, rolls the
// station back, and reads the root-cause page. Each page passes axe and is screenshotted.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { checkA11y, demoUser, e2eEnv, launch, newPage, screenshot, signIn } from "./support.mjs";

const env = e2eEnv();
// The Python that runs the demo (the pytest driver says which venv; CI's is not .venv).
const PYTHON =
  process.env.YUNFAB_E2E_PYTHON ?? path.resolve(import.meta.dirname, "../../.venv/bin/python");
// The demo's station (yunfab_cli/demo.py) and the model it runs.
const STATION = "Press 3 exit";
const DEMO_MODEL = "mudguard v1";
let browser;
let images;

before(async () => {
  images = mkdtempSync(path.join(tmpdir(), "yunfab-e2e-vision-"));
  execFileSync(PYTHON, [
    "-m",
    "yunfab_cli",
    "demo-data",
    "vision",
    "--sku",
    "e2e-bracket",
    "--out",
    images,
    "--good",
    "12",
    "--defective",
    "4",
    "--size",
    "128",
    "--seed",
    "3",
  ]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (images) rmSync(images, { recursive: true, force: true });
});

/** The signed-in person's access token, as the console keeps it. */
async function accessToken(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key?.startsWith("yunfab-console:tokens:")) {
        return JSON.parse(localStorage.getItem(key) ?? "{}").accessToken;
      }
    }
    return null;
  });
}

/** axe and a screenshot, the pointer parked away from what it last clicked (no hover state). */
async function audit(page, label, name) {
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await checkA11y(page, label);
  await screenshot(page, env, name);
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
}

test("a quality engineer trains a model and sees an inspection's heatmap", async () => {
  const staff = demoUser(env, "factory staff");
  const page = await newPage(browser, { locale: "zh-CN" });
  const sku = `e2e-${Date.now().toString(36)}`;

  // Train: the good parts' folder and the test folder (its defect classes by folder name).
  await signIn(page, env, staff, "/vision/train");
  await page.getByRole("heading", { name: "训练检测模型" }).waitFor();
  await settled(page);
  await page.locator("#vision-train-sku").fill(sku);
  const folders = page.locator("input[type=file][webkitdirectory]");
  await folders.nth(0).setInputFiles(path.join(images, "train"));
  await folders.nth(1).setInputFiles(path.join(images, "test"));
  await page.getByTestId("train-good-count").filter({ hasText: /^12$/ }).waitFor();
  await page.getByText("scratch: 1").waitFor();
  await page.getByRole("button", { name: "开始训练" }).click();
  const status = page.getByTestId("train-status");
  await status.getByText(`${sku} v1 训练完成`).waitFor({ timeout: 120_000 });
  // The steps came from the visionTrainingProgress subscription, not only the upload's answer.
  const heard = (await status.getAttribute("data-heard")) ?? "";
  assert.match(heard, /FITTING/, `steps heard from the node: "${heard}"`);
  await audit(page, "vision train", "vision-train");

  // The registry has it, with its lineage.
  await page.getByRole("link", { name: "在模型库中查看" }).click();
  await page.getByRole("heading", { name: `模型 ${sku} v1` }).waitFor();
  await page.getByText("在本节点训练").waitFor();
  await audit(page, "vision model", "vision-model");
  await page.getByRole("link", { name: "模型库" }).click();
  await page.getByRole("heading", { name: "模型库" }).waitFor();
  await settled(page);
  await page
    .getByTestId("model-link")
    .filter({ hasText: `${sku} v1` })
    .waitFor();
  await audit(page, "vision models", "vision-models");

  // Switch the demo's station to the new model (confirmed).
  await page.getByRole("link", { name: "检测工位" }).click();
  await page.getByRole("heading", { name: "检测工位" }).waitFor();
  await settled(page);
  const row = page.getByRole("row").filter({ hasText: STATION });
  // The demo's model, or whatever an earlier run against the same demo left there.
  const running = row.getByTestId("station-active-model");
  await running.waitFor();
  const previous = (await running.textContent()) ?? DEMO_MODEL;
  const switchButton = row.getByRole("button", { name: "切换" });
  // antd's dropdown may swallow a click while it opens: choose again until the choice holds.
  for (let attempt = 0; attempt < 3 && !(await switchButton.isEnabled()); attempt += 1) {
    await row.getByRole("combobox").click();
    await row.getByRole("combobox").fill(sku);
    const option = page.locator(".ant-select-item-option").filter({ hasText: `${sku} v1` });
    await option.waitFor();
    await page.waitForTimeout(300);
    await option.click();
    await page.waitForTimeout(300);
  }
  const isActivation = (request) =>
    request.postData()?.includes('"operationName":"VisionActivateModel"') ?? false;
  const sent = page.waitForRequest(isActivation, { timeout: 10_000 });
  // The node answers once the model's weights are loaded in an inference slot (refused if they
  // do not load): a wait for a free slot and a file read, seconds on CI's loaded two cores.
  const answered = page.waitForResponse((response) => isActivation(response.request()), {
    timeout: 60_000,
  });
  answered.catch(() => {}); // awaited below, unless the mutation was never sent
  await switchButton.click();
  await page.locator(".ant-popconfirm").getByRole("button", { name: "切换" }).click();
  await sent.catch((error) => {
    throw new Error(`confirming the switch sent no activateVisionModel: ${error.message}`);
  });
  const activated = await (await answered).json();
  assert.equal(
    activated.data?.activateVisionModel?.model?.sku,
    sku,
    `activateVisionModel answered ${JSON.stringify(activated)}`,
  );
  // Then the table shows it, once the stations query that the answer invalidates comes back.
  await row
    .getByTestId("station-active-model")
    .filter({ hasText: `${sku} v1` })
    .waitFor();
  await audit(page, "vision stations", "vision-stations");

  // The station's feed: a camera posts a flawed part; it arrives with its heatmap.
  await row.getByRole("link", { name: new RegExp(STATION) }).click();
  await page.getByRole("heading", { name: `工位 ${STATION}` }).waitFor();
  await page.getByText("等待下一个零件…").waitFor();
  const stationId = new URL(page.url()).pathname.split("/").pop();
  // Let the feed's subscription reach the node before the part is sent.
  await page.waitForTimeout(1500);
  const token = await accessToken(page);
  assert.ok(token, "no access token in the console's storage");
  const scratchDir = path.join(images, "test", "scratch");
  const scratch = readFileSync(path.join(scratchDir, readdirSync(scratchDir)[0]));
  const form = new FormData();
  form.append("image", new Blob([scratch], { type: "image/png" }), "part.png");
  form.append("batch", "E2E-1");
  form.append("part", `${sku}-part`);
  const answer = await fetch(`${env.nodeUrl}/api/v1/stations/${stationId}/inspections`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  assert.equal(answer.status, 200, await answer.text());
  const item = page.getByTestId("feed-item").first();
  await item.waitFor({ timeout: 30_000 });
  // The kept (masked) image, fetched with the token, under the event's heatmap.
  await item
    .locator('[data-testid="inspection-canvas"][data-heatmap="shown"][data-image="loaded"]')
    .waitFor();
  await settled(page);
  // The quality records list follows the feed: the new part is in it.
  await page.getByRole("cell", { name: `${sku}-part` }).waitFor();
  await audit(page, "vision feed", "vision-feed");

  // Root cause over the station's parts.
  await page.getByRole("link", { name: "缺陷原因分析" }).click();
  await page.getByRole("heading", { name: "缺陷根因分析" }).waitFor();
  await settled(page);
  await page.getByTestId("rootcause-defective").waitFor();
  await page.getByRole("heading", { name: "缺陷在零件上的位置" }).waitFor();
  await page.locator("[_echarts_instance_]").nth(1).waitFor();
  await audit(page, "vision root cause", "vision-rootcause");

  // Back to the model the station ran (confirmed), leaving the demo as it was.
  await page.getByRole("link", { name: "检测工位" }).click();
  await settled(page);
  const again = page.getByRole("row").filter({ hasText: STATION });
  await again.getByRole("button", { name: "回滚" }).click();
  await page.locator(".ant-popconfirm").getByRole("button", { name: "回滚" }).click();
  await again.getByTestId("station-active-model").filter({ hasText: previous }).waitFor();
  assert.deepEqual(page.problems, []);
});
