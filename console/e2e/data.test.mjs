// The node operator reads the node's data products and their sync, its market installations, and
// the audit log narrowed to a factory and to an actor (filters kept in the address), with one
// entry's details.
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

test("the node operator reads data products, market installations and the audit log", async () => {
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });

  await signIn(page, env, operator, "/data");
  await page.getByRole("heading", { name: "数据产品与市场安装" }).waitFor();
  // The demo publishes regional-capacity to the hub's exchange.
  const product = page
    .getByTestId("data-products")
    .getByRole("row")
    .filter({ hasText: "regional-capacity" });
  await product.waitFor();
  await product.getByRole("button").first().click();
  await page.getByText("默认使用策略报价").waitFor();
  await checkA11y(page, "data products");
  await screenshot(page, env, "data-products");

  await page.getByRole("tab", { name: "市场安装" }).click();
  await page.waitForURL(/tab=installations/);
  await page
    .getByTestId("market-installations")
    .or(page.getByText("本节点尚未安装市场内容"))
    .first()
    .waitFor();
  await page.getByText(/市场签名密钥获取时间/).waitFor();
  await checkA11y(page, "market installations");

  // The audit log, narrowed to the demo's moulding factory.
  await page.getByRole("link", { name: "审计日志" }).click();
  await page.getByRole("heading", { name: "审计日志" }).waitFor();
  const table = page.getByTestId("audit-table");
  await table.getByRole("row").nth(1).waitFor();
  await page.getByLabel("对象", { exact: true }).fill("dongguan-mould");
  await page.waitForURL(/factory=dongguan-mould/);
  await table.getByText("factory:dongguan-mould").first().waitFor();
  const resources = await table.locator("tbody code").allInnerTexts();
  assert.ok(
    resources
      .filter((text) => text.includes(":"))
      .filter((text) => !text.startsWith("node.") && !text.startsWith("hub."))
      .every((text) =>
        /^(factory:dongguan-mould|device:dongguan-mould|station:dongguan-mould\/|vision-model:dongguan-mould\/)/.test(
          text,
        ),
      ),
    resources.join(", "),
  );

  // One actor's entries: the address keeps every filter.
  const firstActor = table.getByRole("row").nth(1).locator("td").nth(2).locator("span").first();
  const actor = ((await firstActor.textContent()) ?? "").trim();
  await page.getByLabel("操作人").fill(actor);
  await page.waitForURL((url) => url.searchParams.get("actor") === actor);
  await page.reload();
  await page.getByRole("heading", { name: "审计日志" }).waitFor();
  assert.equal(await page.getByLabel("操作人").inputValue(), actor);
  await table.getByRole("row").nth(1).waitFor();
  await table
    .getByRole("row")
    .nth(1)
    .getByRole("button", { name: /查看第 \d+ 条记录详情/ })
    .click();
  await page.getByTestId("audit-entry").getByText(actor).first().waitFor();
  await checkA11y(page, "audit entry");
  await page.getByRole("button", { name: "关闭记录" }).click();
  await page.getByTestId("audit-entry").waitFor({ state: "detached" });
  await checkA11y(page, "audit log");
  await screenshot(page, env, "data-audit");

  assert.deepEqual(page.problems, []);
});
