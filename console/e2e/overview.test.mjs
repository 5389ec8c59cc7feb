// The node operator signs in, sees the node's overview, switches the language and back, and
// signs out; the page passes axe and its screenshot is kept.
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

test("the node operator signs in, reads the overview in both languages and signs out", async () => {
  const config = await (await fetch(`${env.nodeUrl}/console/config.json`)).json();
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });

  await signIn(page, env, operator);
  const heading = page.getByRole("heading", { name: "节点概览" });
  await heading.waitFor();
  await page.getByTestId("overview-node-name").filter({ hasText: config.nodeName }).waitFor();
  await page.getByTestId("hub-link-status").waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  await page.getByRole("main").getByText("工厂", { exact: true }).waitFor();

  await page.getByText("English", { exact: true }).click();
  await page.getByRole("heading", { name: "Node overview" }).waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  await page.getByTestId("overview-node-name").filter({ hasText: config.nodeName }).waitFor();
  // The counts the operator may read are numbers, not refusals.
  await page.getByRole("main").getByText("Factories", { exact: true }).waitFor();
  await page.waitForFunction(
    () => !document.querySelector(".ant-skeleton, .ant-statistic-skeleton"),
  );
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  await checkA11y(page, "overview (en)");
  await screenshot(page, env, "overview-overview");

  // The choice is kept: a reload stays in English.
  await page.reload();
  await page.getByRole("heading", { name: "Node overview" }).waitFor();
  await page.getByText("中文", { exact: true }).click();
  await heading.waitFor();
  await checkA11y(page, "overview (zh-CN)");

  await page.getByRole("button", { name: /的账户$/ }).click();
  await page.getByRole("menuitem", { name: "退出登录" }).click();
  // The hub ends the sign-in and sends the browser back to the console, signed out.
  await page.waitForURL((url) => url.origin === env.nodeUrl && url.pathname === "/", {
    timeout: 30_000,
  });
  await page.getByRole("button", { name: /登录$/ }).waitFor();
  await page.waitForURL(`${env.nodeUrl}/`);
  await screenshot(page, env, "overview-signed-out");
  assert.deepEqual(page.problems, []);
});
