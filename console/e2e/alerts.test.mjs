// The node operator makes an alert happen and handles it: a rule made in the rule editor (the
// client-side check first, then the node's) and edited, on a metric the demo's simulated moulding
// machines always report above its level; the alert it opens arrives in the inbox, is
// acknowledged there and its history read in its details; then a contact point is created,
// tested and deleted.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { checkA11y, demoUser, e2eEnv, launch, newPage, screenshot, signIn } from "./support.mjs";

const env = e2eEnv();
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Picks `option` in the antd Select labelled `label`. */
async function choose(page, label, option) {
  await page.getByLabel(label, { exact: true }).click();
  await page
    .locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${option}"]`)
    .click();
}

test("the node operator acknowledges an alert raised by a rule made in the editor", async () => {
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });
  const stamp = Date.now();
  const ruleName = `熔体温度 e2e ${stamp}`;
  const pointName = `e2e 值班 Webhook ${stamp}`;

  await signIn(page, env, operator, "/alerts/rules");
  await page.getByRole("heading", { name: "告警规则" }).waitFor();

  // A rule on every injection-moulding machine: melt temperature above 100 °C (they run at 180+).
  await page.getByRole("button", { name: "新建规则" }).click();
  await page.getByLabel("名称", { exact: true }).fill(ruleName);
  await choose(page, "设备类型", "injection_moulding");
  await choose(page, "指标", "melt_temp_c (°C)");
  await page.getByLabel("高于此值告警").fill("100");
  // The editor's own check: a clear level above the alert level is refused before sending.
  await page.getByLabel("降至此值及以下恢复").fill("150");
  await page.getByRole("button", { name: "创建规则" }).click();
  await page.getByText("仅在设置上限时可用，且不高于上限").waitFor();
  await page.getByLabel("降至此值及以下恢复").fill("90");
  await page.getByRole("button", { name: "创建规则" }).click();
  await page.getByText("规则已创建").waitFor();
  const row = page.getByRole("row").filter({ hasText: ruleName });
  await row.waitFor();
  assert.match((await row.textContent()) ?? "", /melt_temp_c/);
  // Edited in place: it escalates when left open for an hour.
  await row.getByRole("button", { name: `编辑 ${ruleName}` }).click();
  await page.getByLabel("未处理多久后升级").fill("3600");
  await page.getByRole("button", { name: "保存规则" }).click();
  await page.getByText("规则已保存").waitFor();
  await row.getByText("之后升级为严重").waitFor();
  await checkA11y(page, "alert rules");
  await screenshot(page, env, "alerts-rules");

  // The inbox: the alert arrives (live) and is acknowledged.
  await page.getByRole("tab", { name: "告警收件箱" }).click();
  await page.getByRole("heading", { name: "告警", exact: true }).waitFor();
  const open = page
    .getByTestId("alerts-table")
    .getByRole("row")
    .filter({ hasText: "melt_temp_c" })
    .filter({ has: page.getByRole("button", { name: "确认", exact: true }) });
  await open.first().waitFor({ timeout: 45_000 });
  await checkA11y(page, "alerts inbox");
  await screenshot(page, env, "alerts-inbox");

  const message = ((await open.first().getByRole("link").textContent()) ?? "").trim();
  await open.first().getByRole("button", { name: "确认", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "确认告警" });
  await dialog.getByLabel("备注（可选）").fill("e2e：已派人查看");
  await dialog.getByRole("button", { name: "确认告警" }).click();
  await page.getByText("告警已确认").waitFor();

  // Its details: acknowledged, by whom, in its history; the address is the alert's own.
  await page.getByRole("link", { name: message }).first().click();
  await page.waitForURL(/\/alerts\/[0-9a-f-]{36}/);
  const detail = page.getByTestId("alert-detail");
  await detail.getByTestId("alert-detail-status").filter({ hasText: "已确认" }).waitFor();
  await detail.getByText("e2e：已派人查看").waitFor();
  await page.getByRole("button", { name: "关闭告警详情" }).click();
  await page.waitForURL((url) => url.pathname === "/alerts");

  // Filters travel in the address.
  await page.goto(`${env.nodeUrl}/alerts?status=ACKNOWLEDGED&severity=WARNING`);
  await page.getByTestId("alerts-table").getByText(message).first().waitFor();

  // A contact point: created (its signing secret shown once), tested, deleted.
  await page.goto(`${env.nodeUrl}/alerts/contact-points`);
  await page.getByRole("heading", { name: "通知渠道" }).waitFor();
  await page.getByRole("button", { name: "新建通知渠道" }).click();
  const editor = page.getByRole("dialog", { name: "新建通知渠道" });
  await editor.getByLabel("名称", { exact: true }).fill(pointName);
  await editor.getByLabel("Webhook 地址").fill("http://127.0.0.1:9/yunfab-e2e");
  await editor.getByRole("button", { name: "保存" }).click();
  await page.getByRole("dialog", { name: "Webhook 签名密钥" }).waitFor();
  await page.getByRole("button", { name: "我已复制" }).click();
  const point = page.getByTestId("contacts-table").getByRole("row").filter({ hasText: pointName });
  await point.waitFor();
  await checkA11y(page, "contact points");
  await screenshot(page, env, "alerts-contact-points");
  await point.getByRole("button", { name: "发送测试" }).click();
  await page
    .locator(".ant-modal-confirm-title", { hasText: "测试消息未能送达" })
    .waitFor({ timeout: 30_000 });
  await page.getByRole("button", { name: /知道了|OK/ }).click();
  await point.getByRole("button", { name: "删除" }).click();
  await page.getByRole("button", { name: "删除", exact: true }).last().click();
  await page.getByText("通知渠道已删除").waitFor();
  await point.waitFor({ state: "detached" });

  assert.deepEqual(page.problems, []);
});
