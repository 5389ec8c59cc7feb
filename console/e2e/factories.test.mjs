// The node operator opens the factories, searches them, reads a factory's page (profile,
// equipment, capacity heat map, evaluation, audit trail), invites a factory, fills in its
// profile and capacity calendar and takes it through review: submitted, a rejection that
// needs a reason, verified.
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

/** The signed-in person's access token, as the console keeps it. */
async function accessToken(page) {
  const token = await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      try {
        const value = JSON.parse(localStorage.getItem(key) ?? "null");
        if (value && typeof value.accessToken === "string") return value.accessToken;
      } catch {
        // not the tokens
      }
    }
    return null;
  });
  assert.ok(token, "no access token in the console's storage");
  return token;
}

async function graphql(token, query, variables) {
  const response = await fetch(`${env.nodeUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** Waits for the page's skeletons to go (every query answered). */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
}

test("the node operator finds a factory, reads its page and verifies a newly invited one", async () => {
  const operator = demoUser(env, "node operator");
  const page = await newPage(browser, { locale: "zh-CN" });

  await signIn(page, env, operator, "/factories");
  await page.getByRole("heading", { name: "工厂", level: 2 }).waitFor();
  // The menu has the entry (the operator may read factories).
  await page.getByRole("menuitem", { name: /工厂/ }).waitFor();
  await page.locator(".ant-table-row").first().waitFor();
  await settled(page);
  assert.match(await page.getByTestId("factories-range").textContent(), /共 \d+ 条/);
  await checkA11y(page, "factories list");
  await screenshot(page, env, "factories-list");

  // Search: the filter goes to the address, the table narrows to the match.
  const search = page.getByRole("searchbox", { name: "按名称或标识搜索工厂" });
  await search.fill("injection-moulding-01");
  await search.press("Enter");
  await page.waitForURL((url) => url.searchParams.get("q") === "injection-moulding-01");
  await page.getByRole("link", { name: "Shenzhen PC board moulding Works 1" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll(".ant-table-row").length === 1);

  // A factory's page: profile, equipment, the capacity heat map, evaluation and audit trail.
  await page.getByRole("link", { name: "Shenzhen PC board moulding Works 1" }).click();
  await page.waitForURL(`${env.nodeUrl}/factories/injection-moulding-01`);
  await page.getByRole("heading", { name: /Shenzhen PC board moulding Works 1/ }).waitFor();
  await page.getByTestId("capacity-heatmap").locator("canvas").first().waitFor();
  await page.getByRole("heading", { name: "准时交付" }).waitFor();
  await page.getByText("injection-moulding-machine").waitFor();
  await settled(page);
  // An active factory offers the operator to suspend it, and nothing that needs another status.
  await page.getByRole("button", { name: "暂停" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "核验通过" }).count(), 0);
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  await checkA11y(page, "factory page");
  await screenshot(page, env, "factories-detail");

  // Invite a factory through the console.
  await page.getByRole("link", { name: "全部工厂" }).click();
  await page.getByRole("button", { name: "邀请工厂" }).click();
  const slug = `e2e-mill-${Date.now().toString(36)}`;
  const name = `E2E Verification Mill ${slug.slice(-6)}`;
  const invite = page.getByRole("dialog", { name: "邀请工厂加入本节点" });
  await invite.getByLabel("标识").fill(slug);
  await invite.getByLabel("法定名称").fill(name);
  await invite.getByLabel("联系人").fill("Wang Fang");
  await invite.getByLabel("邮箱").fill("wang.fang@mill.example");
  await checkA11y(page, "invite dialog");
  await invite.getByRole("button", { name: "邀请" }).click();
  await page.waitForURL(`${env.nodeUrl}/factories/${slug}`);
  await page.getByRole("heading", { name: new RegExp(name) }).waitFor();
  await page.getByTestId("factory-status").filter({ hasText: "已邀请" }).waitFor();

  // What submitting still needs is said; the operator fills in the profile (its people could).
  const needs = page.getByRole("alert").filter({ hasText: "提交审核前" });
  await needs.waitFor();
  await page.getByRole("button", { name: "编辑资料" }).click();
  const editor = page.getByRole("dialog", { name: new RegExp(`${name} 的资料`) });
  await editor.getByLabel("地址").fill("12 Loom Street");
  await editor.getByLabel("城市").fill("Foshan");
  await editor.getByLabel("地区（ISO 3166-2）").fill("cn-gd");
  const products = editor.getByRole("combobox", { name: "产品" });
  await products.fill("licence plate frames");
  await products.press("Enter");
  await editor.getByRole("button", { name: "添加设备" }).click();
  await editor.getByLabel("类型").fill("injection-moulding-machine");
  await editor.getByLabel("型号").fill("Haitian MA1600");
  await editor.getByLabel("数量").fill("4");
  await checkA11y(page, "profile editor");
  await editor.getByRole("button", { name: "保存" }).click();
  await editor.waitFor({ state: "hidden" });
  await page.getByText("12 Loom Street").waitFor();
  await page.getByText("Haitian MA1600").waitFor();
  await needs.waitFor({ state: "hidden" });

  // Its capacity calendar: one process, the weekdays of the next ten days.
  await page.getByRole("button", { name: "设置产能" }).click();
  const capacity = page.getByRole("dialog", { name: "设置工序产能" });
  await capacity.getByLabel("工序").fill("injection-moulding");
  await capacity.getByLabel("天数").fill("10");
  await capacity.getByLabel("可用工时").fill("16");
  await capacity.getByLabel("停机工时").fill("2");
  await checkA11y(page, "capacity editor");
  await capacity.getByRole("button", { name: "保存" }).click();
  await capacity.waitFor({ state: "hidden" });
  await page.getByTestId("capacity-heatmap").locator("canvas").first().waitFor();

  // Submit for review, then verify, each confirmed in a dialog; the page follows.
  await page.getByRole("button", { name: "提交审核" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "提交审核" }).click();
  await page.getByTestId("factory-status").filter({ hasText: "已提交" }).waitFor();

  // Rejecting needs a reason: without one the dialog stays open and says so.
  await page.getByRole("button", { name: "驳回" }).click();
  const reject = page.getByRole("dialog", { name: /驳回/ });
  await reject.getByRole("button", { name: "驳回" }).click();
  await reject.getByText("请说明原因，工厂会看到").waitFor();
  await reject.getByRole("button", { name: "取消" }).click();
  await reject.waitFor({ state: "hidden" });

  await page.getByRole("button", { name: "核验通过" }).click();
  const verify = page.getByRole("dialog", { name: /核验/ });
  await verify.getByText("你已核对工厂的资料").waitFor();
  await verify.getByRole("button", { name: "核验通过" }).click();
  await page.getByTestId("factory-status").filter({ hasText: "已核验" }).waitFor();
  await verify.waitFor({ state: "hidden" });
  // Next: activate (or reject); verifying again is not offered.
  await page.getByRole("button", { name: "启用" }).waitFor();
  // (The confirmation's own button may outlive its closing animation for a moment.)
  await page.getByRole("button", { name: "核验通过" }).waitFor({ state: "detached" });
  // The audit trail has the verification.
  await page.getByTestId("factory-audit").getByText("node.factory.verify").waitFor();
  await settled(page);
  await checkA11y(page, "factory page after verification");
  await page.locator(".ant-message-notice").first().waitFor({ state: "detached" });
  await screenshot(page, env, "factories-verified");

  // The API agrees.
  const token = await accessToken(page);
  const { factory: verified } = await graphql(
    token,
    "query($slug: String!) { factory(slug: $slug) { status } }",
    { slug },
  );
  assert.equal(verified.status, "VERIFIED");
  assert.deepEqual(page.problems, []);
});
