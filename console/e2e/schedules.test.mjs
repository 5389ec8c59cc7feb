// A factory's staff open their factory's schedules, solve a schedule, see its Gantt chart (bars
// drawn), insert a rush job and see it scheduled, then compute what-if scenarios for another rush
// job and compare them side by side. Every page passes axe; screenshots are kept.
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

/** "YYYY-MM-DD HH:mm" in the browser's (this machine's) zone, as the date picker reads it. */
function pickerTime(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Types into an antd select (multiple or tags) and takes the first match. */
async function choose(page, selector, text) {
  const input = page.locator(selector);
  await input.click();
  await input.fill(text);
  // The select's own dropdown (the one holding its listbox): another may still be closing.
  await page
    .locator(`.ant-select-dropdown:has(${selector}_list) .ant-select-item-option-active`)
    .waitFor();
  await input.press("Enter");
  await input.press("Escape");
}

async function setDate(page, selector, ms) {
  const input = page.locator(selector);
  await input.click();
  await input.fill(pickerTime(ms));
  // Leaving the field keeps a typed date (Enter would submit the form).
  await input.press("Tab");
}

test("factory staff see the Gantt chart, insert a rush job and compare scenarios", async () => {
  const staff = demoUser(env, "factory staff");
  const page = await newPage(browser, { locale: "en" });
  await signIn(page, env, staff, "/schedules");

  await page.getByRole("heading", { name: "Factory schedules" }).waitFor();
  await page.getByTestId("schedules-factory-link").first().waitFor();
  await checkA11y(page, "schedules factories");
  await screenshot(page, env, "schedules-factories");
  await page.getByTestId("schedules-factory-link").first().click();
  await page.getByRole("heading", { name: /^Schedules of / }).waitFor();

  // A schedule of two jobs on two presses; J-2 cannot make its due date.
  const stamp = Date.now().toString(36);
  await page.getByRole("button", { name: "New schedule" }).click();
  const dialog = page.getByRole("dialog", { name: "New schedule" });
  await dialog.waitFor();
  await page.locator("#new-name").fill(`e2e baseline ${stamp}`);
  await choose(page, "#new-machines", "press-A");
  await choose(page, "#new-machines", "press-B");
  await choose(page, "#job0-op0-machines", "press-A");
  await page.locator("#job0-op0-minutes").fill("60");
  await dialog.getByRole("button", { name: "Add a job" }).click();
  await page.locator("#job1-id").fill("J-2");
  await choose(page, "#job1-op0-machines", "press-A");
  await page.locator("#job1-op0-minutes").fill("90");
  await setDate(page, "#job1-due", Date.now() + 40 * 60_000);
  await dialog.getByRole("button", { name: "Solve" }).click();
  await dialog.waitFor({ state: "hidden", timeout: 30_000 });

  const gantt = page.getByTestId("gantt");
  await page.locator('[data-testid="gantt"][data-bars="2"]').waitFor({ timeout: 20_000 });
  await page.getByTestId("late-job").filter({ hasText: "J-2" }).waitFor();
  assert.equal((await gantt.locator("canvas").count()) > 0, true, "the chart draws on a canvas");

  // A rush job on press B.
  await page.getByRole("button", { name: "Insert a rush job" }).click();
  const rush = page.getByRole("dialog", { name: "Insert a rush job" });
  await rush.waitFor();
  assert.equal(await page.locator("#rush-id").inputValue(), "RUSH-1");
  await choose(page, "#rush-op0-machines", "press-B");
  await page.locator("#rush-op0-minutes").fill("45");
  await setDate(page, "#rush-due", Date.now() + 120 * 60_000);
  await rush.getByRole("button", { name: "Insert and re-schedule" }).click();
  await rush.waitFor({ state: "hidden", timeout: 30_000 });
  await page.locator('[data-testid="gantt"][data-bars="3"]').waitFor({ timeout: 20_000 });
  await page.getByRole("cell", { name: "RUSH-1", exact: true }).waitFor();
  assert.match(page.url(), /[?&]schedule=[0-9a-f-]{36}/);
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  await checkA11y(page, "schedules gantt");
  await screenshot(page, env, "schedules-gantt");

  // What-if: another rush job, kept to the plan or re-planned freely, beside the baseline.
  await page.getByRole("tab", { name: "What-if scenarios" }).click();
  await page.getByRole("button", { name: "Compute and compare" }).waitFor();
  await choose(page, "#whatif-op0-machines", "press-A");
  await page.locator("#whatif-op0-minutes").fill("30");
  await page.getByRole("button", { name: "Compute and compare" }).click();
  await page.getByTestId("scenario").nth(2).waitFor({ timeout: 40_000 });
  assert.equal(await page.getByTestId("scenario").count(), 3);
  await page.getByText("RUSH-2: keep the plan").first().waitFor();
  await page.locator('[data-testid="scenario"] [data-testid="gantt"]').nth(2).waitFor();
  assert.match(page.url(), /tab=whatif/);
  assert.match(page.url(), /compare=/);
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
  // The pointer leaves the button it pressed (its hover colour is not the one at rest).
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await checkA11y(page, "schedules what-if");
  await screenshot(page, env, "schedules-whatif");

  // The address is a deep link: a reload shows the same comparison.
  await page.reload();
  await page.getByTestId("scenario").nth(2).waitFor({ timeout: 20_000 });
  assert.deepEqual(page.problems, []);
});
