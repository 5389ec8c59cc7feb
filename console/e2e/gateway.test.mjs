// The node operator opens the demo's edge gateway (the moulding factory's machines over OPC UA):
// its page shows the gateway's report (connectors up, each point's last value), and a claim code
// for the gateway is made and shown once with the command to run on the gateway's box; from the
// devices list, a claim code for a gateway the node does not know yet; a configuration the
// gateway's parser refuses is refused by the node with the reason.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  accessToken,
  checkA11y,
  demoUser,
  e2eEnv,
  launch,
  newPage,
  nodeGraphql,
  screenshot,
  signIn,
} from "./support.mjs";

const env = e2eEnv();
const EDGE_NODE = "dongguan-mould-gw";
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test("the gateway's page shows its connectors and points, and makes a claim code", async () => {
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });
  try {
    await signIn(page, env, operator, "/devices");
    const token = await accessToken(page);
    const { device } = await nodeGraphql(
      env,
      token,
      "query($key: String!) { device(key: $key) { id kind } }",
      { key: EDGE_NODE },
    );
    assert.equal(device.kind, "EDGE_NODE");
    await page.goto(`${env.nodeUrl}/devices/${device.id}?tab=gateway`);
    await page.getByRole("tab", { name: "网关" }).waitFor();

    // The gateway reports every few seconds: its connectors and the machines' points appear.
    const points = page.getByTestId("gateway-points");
    await points.getByText("clamp_force_kn").first().waitFor({ timeout: 60_000 });
    await page.getByTestId("gateway-connectors").getByText("imm-01").waitFor();
    const summary = (await page.getByTestId("gateway-summary").textContent()) ?? "";
    assert.match(summary, /数据点/);
    await checkA11y(page, "gateway page");
    await screenshot(page, env, "devices-gateway");

    // A claim code, shown once, with the command to copy.
    await page.getByTestId("gateway-claim").click();
    const dialog = page.getByRole("dialog", { name: `${EDGE_NODE} 的认领码` });
    await dialog.waitFor();
    const command = (await dialog.getByTestId("claim-command").textContent()) ?? "";
    const code = ((await dialog.getByTestId("claim-code").textContent()) ?? "").trim();
    assert.match(code, /^[0-9a-f]{8}-[A-Za-z0-9_-]{24}$/);
    assert.ok(command.includes(`yunfab gateway claim --node `), command);
    assert.ok(command.includes(`--code ${code}`), command);
    await checkA11y(page, "claim code dialog");
    await screenshot(page, env, "devices-gateway-claim");
    await dialog.getByRole("button", { name: "完成" }).click();

    // It runs its own file; a configuration the gateway's parser refuses is not stored.
    assert.equal(await page.getByTestId("gateway-config").textContent(), "本机配置文件");
    await page.getByTestId("gateway-push").click();
    const push = page.getByRole("dialog", { name: "向网关下发配置" });
    await push.getByLabel("gateway.toml").fill("[gateway\nedge_node = 1");
    await push.getByRole("button", { name: "下发" }).click();
    await push.getByText(/not valid TOML/).waitFor();
    await push.getByText("INVALID_INPUT").waitFor();
    await checkA11y(page, "push configuration dialog");
    await push.getByRole("button", { name: "取消" }).click();

    // A claim code for a gateway not on the node yet, from the devices list.
    await page.goto(`${env.nodeUrl}/devices`);
    await page.getByRole("button", { name: "认领新网关" }).click();
    const form = page.getByRole("dialog", { name: "为新网关生成认领码" });
    await form.getByLabel("所属工厂", { exact: true }).click();
    await page.locator(".ant-select-item-option").first().click();
    const keyField = form.getByLabel("网关标识（gateway.edge_node）");
    const suggested = await keyField.inputValue();
    assert.match(suggested, /-gw$/, "the key is suggested in the factory's namespace");
    const key = `${suggested}-e2e-${Date.now().toString(36)}`;
    await keyField.fill(key);
    await checkA11y(page, "new gateway dialog");
    await form.getByRole("button", { name: "生成认领码" }).click();
    const fresh = page.getByRole("dialog", { name: `${key} 的认领码` });
    await fresh.waitFor();
    assert.match(
      ((await fresh.getByTestId("claim-code").textContent()) ?? "").trim(),
      /^[0-9a-f]{8}-[A-Za-z0-9_-]{24}$/,
    );
    await fresh.getByRole("button", { name: "完成" }).click();
  } catch (error) {
    await screenshot(page, env, "devices-gateway-failure").catch(() => {});
    throw error;
  }
});
