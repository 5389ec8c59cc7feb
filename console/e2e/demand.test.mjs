// C2M on the moulding node, where the demo's brand sells configurable mudguards and plate
// frames: the brand signs in, uploads a sales file that is refused naming its bad row, then a
// good one, runs a forecast and sees it charted with its interval, re-plans production and
// finds that only the operator accepts; asking about another brand shows the API's refusal.
// It then counts a SKU's stock, changes a product's frozen horizon and makes a new configurable
// product through the editing screens.
// The node operator then accepts a proposal, which becomes an order in the brand's name. Each
// page passes axe and its screenshot is kept.
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

/** What `yunfab demo` kept of its C2M scenario on this node (c2m.json), when it played it. */
function demoDemand() {
  const record = path.join(
    path.dirname(process.env.YUNFAB_E2E_USERS),
    "nodes",
    "gd-injection-moulding",
    "c2m.json",
  );
  return existsSync(record) ? JSON.parse(readFileSync(record, "utf8")) : null;
}

const graphql = (token, query, variables) => nodeGraphql(env, token, query, variables);

function lastMonday() {
  const day = new Date();
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7) - 7);
  return day.toISOString().slice(0, 10);
}

/** A CSV file for the page's file picker. */
function csvFile(name, lines) {
  return {
    name,
    mimeType: "text/csv",
    buffer: Buffer.from(`${["sku,date,quantity,channel,region", ...lines].join("\n")}\n`),
  };
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  // Off whatever was clicked last: its hover colour is not what axe should judge.
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
}

test("a brand uploads sales, forecasts and plans; the operator accepts a proposal", async () => {
  const demand = demoDemand();
  assert.ok(demand, "the demo played its C2M scenario (nodes/gd-injection-moulding/c2m.json)");
  const brand = demoUser(env, "brand");
  const page = await newPage(browser, { locale: "zh-CN" });
  await signIn(page, env, brand, "/demand/sales");
  await page.getByRole("heading", { name: "销售数据", exact: true }).waitFor();
  const token = await accessToken(page);
  assert.ok(token, "the brand's token");
  const { skus } = await graphql(token, "{ skus(first: 3) { edges { node { code } } } }");
  const codes = skus.edges.map((edge) => edge.node.code);
  assert.ok(codes.length >= 2, "the demo's SKUs");
  await page.getByTestId("sales-imports").waitFor();
  const importsBefore = await page.getByTestId("sales-imports").locator(".ant-table-row").count();

  // A file with an unknown SKU on its third line and a date that is none: refused whole,
  // each problem named by its row and column.
  const day = lastMonday();
  const region = `E2E-${Date.now().toString(36)}`;
  const picker = page.locator('input[type="file"]');
  await picker.setInputFiles(
    csvFile("bad-sales.csv", [
      `${codes[0]},${day},3,e2e,${region}`,
      `NOPE,${day},2,e2e,${region}`,
      `${codes[1]},2025-13-01,4,e2e,${region}`,
    ]),
  );
  await page.getByTestId("sales-file").filter({ hasText: "bad-sales.csv" }).waitFor();
  await page.getByTestId("sales-send").click();
  const refused = page.getByTestId("sales-refused");
  await refused.waitFor();
  await refused.getByText("没有导入任何数据").waitFor();
  await refused.locator("code", { hasText: "sales_invalid" }).waitFor();
  const problems = refused.getByTestId("sales-problems");
  const skuRow = problems.locator(".ant-table-row", { hasText: "NOPE" });
  assert.equal((await skuRow.locator("td").nth(0).textContent()).trim(), "3");
  assert.equal((await skuRow.locator("td").nth(1).textContent()).trim(), "sku");
  const dateRow = problems.locator(".ant-table-row", { hasText: "2025-13-01" });
  assert.equal((await dateRow.locator("td").nth(0).textContent()).trim(), "4");
  assert.equal((await dateRow.locator("td").nth(1).textContent()).trim(), "date");
  assert.equal(
    await page.getByTestId("sales-imports").locator(".ant-table-row").count(),
    importsBefore,
    "nothing was imported",
  );
  await settled(page);
  await checkA11y(page, "sales upload refused");
  await screenshot(page, env, "demand-sales-refused");

  // The same week's sales, right this time: stored, and listed among the uploads.
  await picker.setInputFiles(
    csvFile(`${region}.csv`, [
      `${codes[0]},${day},3,e2e,${region}`,
      `${codes[1]},${day},4,e2e,${region}`,
    ]),
  );
  await page
    .getByTestId("sales-file")
    .filter({ hasText: `${region}.csv` })
    .waitFor();
  await page.getByTestId("sales-send").click();
  await page.getByTestId("sales-imported").waitFor();
  await page.getByTestId("sales-imports").getByText(`${region}.csv`).waitFor();
  await settled(page);
  await checkA11y(page, "sales upload");
  await screenshot(page, env, "demand-sales");

  // A sales feed from the hub is subscribed by its agreement's id: anything else is refused at
  // its field before it is sent.
  await page.getByTestId("sales-feeds-form").waitFor();
  await page.getByLabel("枢纽上的协议编号").fill("not-an-agreement");
  await page.getByRole("button", { name: /^订\s?阅$/ }).click();
  await page.getByText("协议编号（UUID）").waitFor();

  // A forecast, four weeks ahead: charted per series with its interval.
  await page.getByRole("link", { name: "预测" }).click();
  await page.getByRole("heading", { name: "销量预测" }).waitFor();
  await page.getByLabel("预测周数").fill("4");
  await page.getByRole("button", { name: /^预\s?测$/ }).click();
  const chart = page.getByTestId("forecast-chart");
  await page.locator('[data-testid="forecast-chart"][data-weeks="4"]').waitFor({ timeout: 60_000 });
  await chart.locator("canvas").waitFor();
  await page.getByTestId("forecast-points").locator(".ant-table-row").nth(3).waitFor();
  await page.getByTestId("forecast-accuracy").getByText("暂无实际销量").waitFor();
  await settled(page);
  await checkA11y(page, "forecast");
  await screenshot(page, env, "demand-forecast");

  // The demo's first forecast, scored on the weeks that came in after it.
  await page.goto(`${env.nodeUrl}/demand/forecast?run=${demand.first_forecast}`);
  await page.getByTestId("accuracy-series").locator(".ant-table-row").first().waitFor();
  await page.getByTestId("forecast-chart").locator("canvas").waitFor();
  assert.ok(Number(await chart.getAttribute("data-actuals")) > 0, "actuals on the chart");
  await settled(page);
  await checkA11y(page, "forecast accuracy");
  await screenshot(page, env, "demand-accuracy");

  // Products and their variants.
  await page.getByRole("link", { name: "产品" }).click();
  await page.getByTestId("demand-product-mudguard").waitFor();
  assert.equal(
    await page.getByTestId("demand-product-mudguard").getByTestId("demand-variant").count(),
    2,
  );
  await settled(page);
  await checkA11y(page, "products");
  await screenshot(page, env, "demand-products");

  // The brand re-plans from its new forecast; accepting is the operator's.
  await page.getByRole("link", { name: "生产计划" }).click();
  await page.getByTestId("plan-effect").waitFor();
  await page.getByRole("button", { name: "生成生产计划" }).click();
  await page.getByTestId("proposals").locator(".ant-table-row").first().waitFor();
  await page.getByText("由节点运营方接受建议。").waitFor();
  assert.equal(await page.getByTestId("accept-proposals").count(), 0);
  await settled(page);
  await checkA11y(page, "plan (brand)");
  await screenshot(page, env, "demand-plan-brand");

  // Another brand's forecasts: the API refuses, and the page says so with its code.
  await page.goto(`${env.nodeUrl}/demand/forecast?brand=not-this-brand`);
  await page.locator(".ant-alert-error code", { hasText: "FORBIDDEN" }).first().waitFor();

  // Stock on hand: one SKU's count changed and saved; the table shows the new figure.
  await page.goto(`${env.nodeUrl}/demand/stock`);
  await page.getByRole("heading", { name: "现有库存" }).waitFor();
  const stockInput = page.getByTestId(`stock-${codes[0]}`);
  await stockInput.waitFor();
  const onHand = Number((await stockInput.inputValue()).replace(/[^\d.]/g, "")) || 0;
  await stockInput.fill(String(onHand + 1));
  await page.getByTestId("stock-save").click();
  await page.getByTestId("stock-saved").waitFor();
  const { skus: counted } = await graphql(
    token,
    "query($b: String) { skus(brand: $b, first: 100) { edges { node { code stockOnHand } } } }",
    { b: demand.brand },
  );
  assert.equal(
    counted.edges.find((edge) => edge.node.code === codes[0]).node.stockOnHand,
    onHand + 1,
  );
  await settled(page);
  await checkA11y(page, "stock");
  await screenshot(page, env, "demand-stock");

  // Planning rules: the brand changes the mudguard's frozen horizon; auto-accept is the
  // operator's, so its switch is off limits here.
  await page
    .getByRole("navigation", { name: "需求页面" })
    .getByRole("link", { name: "计划规则" })
    .click();
  const rules = page.getByTestId("rules-mudguard");
  await rules.waitFor();
  const frozen = page.getByTestId("rules-mudguard-frozen");
  const weeks = Number(await frozen.inputValue());
  await frozen.fill(String(weeks === 26 ? 25 : weeks + 1));
  assert.ok(await page.getByTestId("rules-mudguard-auto-on").isDisabled());
  await page.getByTestId("rules-mudguard-save").click();
  await page.getByTestId("rules-mudguard-saved").waitFor();
  await settled(page);
  await checkA11y(page, "rules");
  await screenshot(page, env, "demand-rules");

  // A new configurable product: an empty form is refused at its fields before anything is
  // sent; filled in (on the mudguard's routing, one colour option), it is made.
  const { product: mudguard } = await graphql(
    token,
    '{ product(slug: "mudguard") { baseProduct } }',
  );
  await page.goto(`${env.nodeUrl}/demand/products/new`);
  await page.getByRole("heading", { name: "新建可配置产品" }).waitFor();
  await page.getByTestId("product-save").click();
  await page.getByTestId("product-problems").waitFor();
  const slug = `e2e-${Date.now().toString(36)}`;
  await page.getByTestId("product-slug").fill(slug);
  await page.getByTestId("product-name").fill("E2E 挡泥板");
  await page.getByTestId("product-base").fill(mudguard.baseProduct);
  await page.getByTestId("add-option").click();
  await page.getByTestId("option-0-name").fill("colour");
  await page.getByTestId("add-value-0").click();
  await page.getByTestId("option-0-value-0").fill("black");
  await settled(page);
  await checkA11y(page, "product editing");
  await screenshot(page, env, "demand-product-new");
  await page.getByTestId("product-save").click();
  await page.getByTestId(`demand-product-${slug}`).waitFor();
  // And opened again for editing, the form holds what was made.
  await page.getByTestId(`edit-product-${slug}`).click();
  await page.getByRole("heading", { name: `编辑 ${slug}` }).waitFor();
  assert.equal(await page.getByTestId("option-0-value-0").inputValue(), "black");
  // The refused upload's 422 is the browser's note of an answer the page showed, not a fault.
  assert.deepEqual(
    page.problems.filter((problem) => !problem.includes("status of 422")),
    [],
  );

  // The operator accepts this brand's first open proposal: an order in the brand's name.
  const operator = await newPage(browser, { locale: "zh-CN" });
  await signIn(operator, env, demoUser(env, "node operator"), `/demand/plan?brand=${demand.brand}`);
  await operator.getByRole("heading", { name: "生产计划" }).waitFor();
  const rows = operator.getByTestId("proposals").locator(".ant-table-row");
  await rows.first().waitFor();
  await rows.first().locator('input[type="checkbox"]').check();
  await operator.getByTestId("accept-proposals").click();
  await operator
    .locator(".ant-modal-confirm")
    .getByRole("button", { name: /^接\s?受$/ })
    .click();
  const lots = operator.getByTestId("accepted-lots");
  await lots.waitFor({ timeout: 60_000 });
  const link = lots.getByRole("link", { name: /^SO-/ });
  const number = (await link.textContent()).trim();
  await settled(operator);
  await checkA11y(operator, "plan (operator)");
  await screenshot(operator, env, "demand-plan-operator");
  const operatorToken = await accessToken(operator);
  const { order } = await graphql(
    operatorToken,
    "query($n: String!) { order(number: $n) { buyerOrg product stage } }",
    { n: number },
  );
  assert.equal(order.buyerOrg, demand.brand);
  await link.click();
  await operator.waitForURL((url) => url.pathname === `/orders/${number}`);
  await operator.getByTestId("order-timeline").waitFor();
  assert.deepEqual(operator.problems, []);
});
