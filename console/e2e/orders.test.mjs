// The buyer signs in, finds the demo's order in their list by its number, places an order of
// their own and watches its stage move live (the node operator plans it through the API, as
// the operator's console would) without reloading; the operator reads the demo order's plan
// and its explanation. Each page passes axe and its screenshot is kept.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
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
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** The number `yunfab demo` printed for its order on this node, when its record is there. */
function demoOrderNumber() {
  const record = path.join(
    path.dirname(process.env.YUNFAB_E2E_USERS),
    "nodes",
    "gd-injection-moulding",
    "cloud-order.json",
  );
  return existsSync(record) ? JSON.parse(readFileSync(record, "utf8")).order : null;
}

const graphql = (token, query, variables) => nodeGraphql(env, token, query, variables);

function isoDay(offset) {
  const day = new Date(Date.now() + offset * 86_400_000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

test("a buyer finds their orders, places one and sees its stage move live", async () => {
  const buyer = demoUser(env, "buyer");
  const page = await newPage(browser, { locale: "zh-CN" });
  await signIn(page, env, buyer, "/orders");
  await page.getByRole("heading", { name: "订单", exact: true }).waitFor();
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");

  // The demo's order, found by the number the demo printed.
  const number = demoOrderNumber();
  if (number) {
    await page.getByLabel("按订单号搜索").fill(number);
    await page.getByLabel("按订单号搜索").press("Enter");
    await page.waitForURL((url) => url.searchParams.get("q") === number);
    await page.getByRole("link", { name: number }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".ant-table-row").length === 1);
    // Narrowed to a stage it is not at: nothing; to its own stage: the order again.
    const shown = (await page.getByTestId("order-stage").first().textContent()).trim();
    const stageFilter = page.getByRole("combobox", { name: "按阶段筛选" });
    await stageFilter.fill("已下单");
    await stageFilter.press("Enter");
    await page.waitForURL((url) => url.searchParams.get("stage") === "PLACED");
    await page.getByText("没有找到订单").waitFor();
    await stageFilter.fill(shown);
    await stageFilter.press("Enter");
    await page.waitForURL((url) => !["PLACED", null].includes(url.searchParams.get("stage")));
    await page.getByRole("link", { name: number }).waitFor();
    // The stage list closed (antd's open listbox has no name of its own, which axe reports).
    await stageFilter.press("Escape");
    await page.waitForFunction(
      () => !document.querySelector(".ant-select-dropdown:not(.ant-select-dropdown-hidden)"),
    );
  } else {
    await page.locator(".ant-table-row").first().waitFor();
  }
  await checkA11y(page, "orders list");
  await screenshot(page, env, "orders-list");

  // Place an order: the form checks it first, then the buyer lands on the order's page.
  await page.getByRole("button", { name: "下订单" }).click();
  await page.getByRole("heading", { name: "下订单" }).waitFor();
  await page.getByRole("button", { name: "提交订单" }).click();
  await page.getByText("请填写交货日期").waitFor();
  await page.getByRole("combobox", { name: "产品" }).click();
  await page.locator(".ant-select-item-option").first().click();
  await page.getByRole("spinbutton", { name: "数量" }).fill("5000");
  await page.getByRole("spinbutton", { name: "日产目标" }).fill("500");
  await page.getByLabel("交货日期").fill(isoDay(-3));
  await page.getByLabel("采购方单号").fill("E2E-PO-1");
  await page.getByRole("button", { name: "提交订单" }).click();
  await page.getByText("交货日期早于开始日期").waitFor();
  await page.getByLabel("交货日期").fill(isoDay(14));
  // Off the button just clicked: its hover colour is not what axe should judge.
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await checkA11y(page, "place an order");
  await screenshot(page, env, "orders-new");
  await page.getByRole("button", { name: "提交订单" }).click();
  await page.waitForURL((url) => /^\/orders\/SO-/.test(url.pathname));
  const placed = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  const timeline = page.getByTestId("order-timeline");
  await timeline.and(page.locator('[data-stage="PLACED"]')).waitFor();
  await page.getByText("尚未排产。").waitFor();

  // The node operator plans it, as their console would: the buyer's page follows, no reload.
  const operatorPage = await newPage(browser, { locale: "zh-CN" });
  await signIn(operatorPage, env, demoUser(env, "node operator"));
  const token = await accessToken(operatorPage);
  assert.ok(token, "the operator's token");
  const { order } = await graphql(token, "query($n: String!) { order(number: $n) { id } }", {
    n: placed,
  });
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  const planned = await graphql(
    token,
    "mutation($id: UUID!) { planOrder(id: $id, timeLimitS: 10) { version } }",
    { id: order.id },
  );
  assert.equal(planned.planOrder.version, 1);
  await timeline.and(page.locator('[data-stage="PLANNED"]')).waitFor({ timeout: 15_000 });
  await page.getByTestId("order-stage").filter({ hasText: "已排产" }).waitFor();
  await page.getByTestId("allocation-chart").locator("canvas").waitFor();
  assert.ok(Number(await page.getByTestId("allocation-chart").getAttribute("data-series")) > 0);
  assert.equal(navigations, 0, "the page reloaded");
  await checkA11y(page, "order page (buyer)");
  await screenshot(page, env, "orders-detail");
  assert.deepEqual(page.problems, []);

  // The operator reads the demo order: its plan, why, the work orders by factory name.
  if (number) {
    await operatorPage.goto(`${env.nodeUrl}/orders/${number}`);
    await operatorPage.getByTestId("plan-reasoning").waitFor({ timeout: 20_000 });
    await operatorPage.getByTestId("work-orders").waitFor();
    await operatorPage.getByRole("heading", { name: "上报停机故障" }).waitFor();
    await operatorPage.waitForFunction(() => !document.querySelector(".ant-skeleton"));
    await checkA11y(operatorPage, "order page (operator)");
    await screenshot(operatorPage, env, "orders-detail-operator");
  }
  assert.deepEqual(operatorPage.problems, []);

  // Leave the demo as it was for the other areas: the order's plan gives its capacity back.
  await graphql(token, 'mutation($id: UUID!) { cancelOrder(id: $id, reason: "e2e") { status } }', {
    id: order.id,
  });
});
