// A data consumer (the demo's only people with exchange:write: policies/hub_board.rego) finds
// the demo's offers on the hub's supply-and-demand board, posts a need for injection-moulding
// hours in Shanghai (the API's refusal of a past window shown first), sees the seeded offers
// ranked as matches in the table and the distance chart, narrows them by coverage, and takes
// the need off the board. Each page passes axe and its screenshot is kept.
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
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

function isoDay(offset) {
  const day = new Date(Date.now() + offset * 86_400_000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  const errors = await page.locator(".ant-alert-error").allTextContents();
  assert.deepEqual(errors, [], "an API error is shown");
}

async function closeSelect(page) {
  await page.keyboard.press("Escape");
  await page.waitForFunction(
    () => !document.querySelector(".ant-select-dropdown:not(.ant-select-dropdown-hidden)"),
  );
}

test("a data consumer posts a need, sees ranked matches and closes it", async () => {
  const page = await newPage(browser, { locale: "zh-CN" });
  await signInAtHub(page, env, demoUser(env, "data consumer"), "/board?side=OFFER");
  await page.getByRole("heading", { name: "供需对接板", level: 2 }).waitFor();
  await settled(page);
  const board = page.getByTestId("board-table");
  await board.getByText("Ningbo Yinzhou Mould & Plastics").waitFor();
  assert.equal(await board.getByText("需求", { exact: true }).count(), 0, "only offers shown");
  await checkA11y(page, "board");
  await screenshot(page, env, "hub-board-list");

  // The post form: the browser's checks, then the API's own (a window already past).
  const note = `e2e ${Date.now().toString(36)}`;
  await page.getByRole("button", { name: "发布需求或供应" }).click();
  const dialog = page.getByRole("dialog", { name: "发布需求或供应" });
  await dialog.getByLabel("品目").fill("Injection Moulding");
  await dialog.getByText("小写字母和数字，以单个连字符分隔").waitFor();
  await dialog.getByLabel("品目").fill("injection-moulding");
  await dialog.getByLabel("数量").fill("1000");
  await dialog.getByLabel("地点").fill("上海");
  await dialog.getByLabel("地点").press("Enter");
  await closeSelect(page).catch(() => {});
  assert.equal(await dialog.getByLabel("城市").inputValue(), "上海");
  await dialog.getByLabel("备注").fill(note);
  await dialog.getByLabel("开始日期").fill(isoDay(-30));
  await dialog.getByLabel("结束日期（含）").fill(isoDay(-20));
  await dialog.getByRole("button", { name: "发布" }).click();
  await dialog.getByText("the window has already passed").waitFor();
  await dialog.getByText("INVALID_INPUT").waitFor();
  await dialog.getByLabel("开始日期").fill(isoDay(1));
  await dialog.getByLabel("结束日期（含）").fill(isoDay(30));
  await page.mouse.move(0, 0);
  await checkA11y(page, "post form");
  await screenshot(page, env, "hub-board-post");
  await dialog.getByRole("button", { name: "发布" }).click();

  // Its page: the seeded offers ranked, Ningbo (all of it, nearest) first.
  await page.waitForURL((url) => /^\/board\/[0-9a-f-]{36}$/.test(url.pathname));
  await page.getByRole("heading", { name: "需求：injection-moulding", level: 2 }).waitFor();
  await page.getByText(note).waitFor();
  await settled(page);
  const matches = page.getByTestId("matches-table");
  const first = matches.locator("tbody tr.ant-table-row").first();
  await first.getByText("Ningbo Yinzhou Mould & Plastics").waitFor();
  await first.getByText("100%").waitFor();
  const rows = await matches.locator("tbody tr.ant-table-row").count();
  assert.ok(rows >= 3, `the three seeded moulders match, got ${rows}`);
  await page.getByTestId("matches-chart").locator("canvas").first().waitFor();
  await checkA11y(page, "posting and matches");
  await screenshot(page, env, "hub-board-matches");

  // At least 75 % covered: the partial offers below it drop out (the filter is in the address).
  await page.getByRole("combobox", { name: "覆盖率不低于" }).click();
  await page.locator(".ant-select-item-option", { hasText: "≥ 75%" }).click();
  await page.waitForURL((url) => url.searchParams.get("coverage") === "0.75");
  await closeSelect(page).catch(() => {});
  await matches.getByText("Foshan Shunde Plastics").waitFor({ state: "detached" });
  await first.getByText("Ningbo Yinzhou Mould & Plastics").waitFor();

  // Taken off the board.
  await page.getByRole("button", { name: "关闭 需求 · injection-moulding" }).click();
  const confirm = page.getByRole("dialog", { name: /从对接板撤下/ });
  await confirm.getByRole("radio", { name: "撤回" }).check();
  await confirm.getByRole("button", { name: "关闭发布" }).click();
  await page.getByText("该发布已关闭，不再参与匹配。").waitFor();
  await page.getByText("已撤回", { exact: true }).first().waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
