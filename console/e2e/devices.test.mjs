// The node operator lists the node's devices, provisions one (its password shown once), opens
// its page, and a reading the device publishes over MQTT to the demo's broker appears in the open
// chart; a value out of range shows up as a dead letter with its reason; the operator rotates the
// device's credentials, suspends it and retires it. Each page passes axe and is screenshotted.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connectDevice, demoBroker } from "./mqtt.mjs";
import { checkA11y, demoUser, e2eEnv, launch, newPage, screenshot, signIn } from "./support.mjs";

const env = e2eEnv();
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test("a reading published over MQTT appears in the open chart of a device just provisioned", async () => {
  const config = await (await fetch(`${env.nodeUrl}/console/config.json`)).json();
  const broker = demoBroker(process.env.YUNFAB_E2E_USERS, config.nodeName);
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });
  try {
    await provisionAndWatch(page, broker, operator);
  } catch (error) {
    await screenshot(page, env, "devices-failure").catch(() => {});
    throw error;
  }
});

async function provisionAndWatch(page, broker, operator) {
  // The list: the demo's simulated machines, with their connection and last report.
  await signIn(page, env, operator, "/devices");
  await page.getByRole("heading", { name: "设备", exact: true }).waitFor();
  await page.locator('[data-testid^="device-link-"]').first().waitFor();
  await page.getByTestId("device-presence").first().waitFor();
  await checkA11y(page, "devices list");
  await screenshot(page, env, "devices-list");

  // A search goes to the address (a deep link) and narrows the list.
  const firstKey = (
    await page.locator('[data-testid^="device-link-"]').first().getAttribute("data-testid")
  ).replace("device-link-", "");
  await page.getByRole("searchbox", { name: "搜索设备" }).fill(firstKey);
  await page.getByRole("searchbox", { name: "搜索设备" }).press("Enter");
  await page.waitForURL((url) => url.searchParams.get("q") === firstKey);
  await page.getByTestId(`device-link-${firstKey}`).waitFor();

  // Provision a device; its password is shown once.
  await page.getByRole("button", { name: "登记设备" }).click();
  const dialog = page.getByRole("dialog", { name: "登记新设备" });
  await dialog.getByLabel("所属工厂", { exact: true }).click();
  await page.locator(".ant-select-item-option").first().click();
  const key = dialog.getByLabel("设备标识（MQTT 用户名）");
  const prefix = await key.inputValue();
  assert.match(prefix, /-$/, "the key starts with the factory's slug");
  const suffix = `e2e-${Date.now().toString(36)}`;
  await key.fill(`${prefix}${suffix}`);
  await dialog.getByLabel("名称", { exact: true }).fill(`E2E 温度探头 ${suffix}`);
  await dialog.getByLabel("设备类型", { exact: true }).fill("e2e_probe");
  await dialog.getByLabel("第 1 个指标的名称").fill("temp_c");
  await dialog.getByLabel("第 1 个指标的单位").fill("degC");
  await dialog.getByLabel("第 1 个指标的最小有效值").fill("0");
  await dialog.getByLabel("第 1 个指标的最大有效值").fill("500");
  await checkA11y(page, "provision dialog");
  await dialog.getByRole("button", { name: "登记" }).click();

  const credentials = page.getByRole("dialog", { name: "设备凭据" });
  await credentials.waitFor();
  const username = (
    (await credentials.getByTestId("credentials-username").textContent()) ?? ""
  ).trim();
  const password = (
    (await credentials.getByTestId("credentials-password").textContent()) ?? ""
  ).trim();
  assert.equal(username, `${prefix}${suffix}`);
  assert.ok(password.length >= 32, "a password is shown");
  await credentials.getByRole("button", { name: "我已保存，打开设备" }).click();

  // The device's page, open, with an empty chart that follows now.
  await page.waitForURL(/\/devices\/[0-9a-f-]{36}/);
  await page.getByRole("heading", { name: `E2E 温度探头 ${suffix}` }).waitFor();
  await page.getByTestId("telemetry-resolution").filter({ hasText: "原始读数" }).waitFor();

  // The device publishes a reading over MQTT; it is drawn in the open chart.
  const device = await connectDevice(broker, username, password);
  const topic = `yunfab/v1/telemetry/${username}`;
  try {
    await device.publish(topic, JSON.stringify({ ts: Date.now(), metrics: { temp_c: 42.5 } }));
    await page
      .getByTestId("telemetry-last-value")
      .filter({ hasText: "42.5" })
      .waitFor({ timeout: 15_000 });
    await device.publish(topic, JSON.stringify({ ts: Date.now(), metrics: { temp_c: 43.25 } }));
    await page
      .getByTestId("telemetry-last-value")
      .filter({ hasText: "43.25" })
      .waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId("telemetry-last-value").getAttribute("data-count"), "2");
    await page.getByTestId("latest-temp_c").filter({ hasText: "43.25" }).waitFor();
    await page.getByTestId("device-presence").filter({ hasText: "在线" }).waitFor();
    // The first accepted reading made it active.
    await page.getByTestId("device-status").filter({ hasText: "运行中" }).waitFor();
    // Out of its declared range: refused, kept as a dead letter with the reason.
    await device.publish(topic, JSON.stringify({ ts: Date.now(), metrics: { temp_c: 9999 } }));
  } finally {
    device.close();
  }
  await checkA11y(page, "device page");
  await screenshot(page, env, "devices-detail");

  await page.getByRole("tab", { name: "死信" }).click();
  await page.waitForURL((url) => url.searchParams.get("tab") === "dead-letters");
  for (let tries = 0; ; tries++) {
    const reason = page.getByTestId("dead-letter-reason").filter({ hasText: "out_of_range" });
    try {
      await reason.first().waitFor({ timeout: 2_000 });
      break;
    } catch (error) {
      if (tries >= 5) throw error;
      await page.reload();
    }
  }
  await checkA11y(page, "device dead letters");
  await screenshot(page, env, "devices-dead-letters");
  await page.getByRole("tab", { name: "遥测" }).click();

  // A longer range asks for minute rollups; zooming into its last minutes, for raw readings.
  await page.getByText("6 小时", { exact: true }).click();
  await page.waitForURL((url) => url.searchParams.get("range") === "6h");
  await page.getByTestId("telemetry-resolution").filter({ hasText: "按分钟汇总" }).waitFor();
  const chart = page.locator('div[role="img"]').last();
  await chart.scrollIntoViewIfNeeded();
  const box = await chart.boundingBox();
  // The slider under the plot: its left handle dragged to nine tenths of the way.
  await page.mouse.move(box.x + 57, box.y + box.height - 45);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.93, box.y + box.height - 45, { steps: 8 });
  await page.mouse.up();
  await page.getByTestId("telemetry-resolution").filter({ hasText: "原始读数" }).waitFor();
  await page.getByTestId("telemetry-last-value").filter({ hasText: "43.25" }).waitFor();
  await page.getByRole("button", { name: "重置缩放" }).click();
  await page.getByTestId("telemetry-resolution").filter({ hasText: "按分钟汇总" }).waitFor();

  // Rotate the credentials: a new password, shown once.
  await page.getByRole("button", { name: "更换凭据" }).click();
  await page.getByRole("tooltip").getByRole("button", { name: "更换凭据" }).click();
  const rotated = page.getByRole("dialog", { name: "设备凭据" });
  await rotated.waitFor();
  const newPassword = (
    (await rotated.getByTestId("credentials-password").textContent()) ?? ""
  ).trim();
  assert.notEqual(newPassword, password);
  await rotated.getByRole("button", { name: "我已保存" }).click();

  // Suspend it, then retire it for good (leaving the demo's counts as they were).
  await page.getByRole("button", { name: "停用" }).click();
  await page.getByRole("tooltip").getByRole("button", { name: "停用" }).click();
  await page.getByTestId("device-status").filter({ hasText: "已停用" }).waitFor();
  await page.getByRole("button", { name: "退役" }).click();
  await page.getByRole("tooltip").getByRole("button", { name: "退役" }).click();
  await page.getByTestId("device-status").filter({ hasText: "已退役" }).waitFor();
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  assert.deepEqual(page.problems, []);
}
