// Shared pieces of the console's end-to-end tests (`node --test e2e/`), run by
// tests/test_console_e2e.py against a real hub and node started by `yunfab demo`:
// Debian's chromium through playwright-core, sign-in on the hub's own page, axe-core, screenshots.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { afterEach } from "node:test";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

function required(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set (tests/test_console_e2e.py sets it)`);
  return value;
}

/** Where the demo runs and who signs in there, from the pytest driver's environment. */
export function e2eEnv() {
  return {
    hubUrl: required("YUNFAB_E2E_HUB_URL").replace(/\/+$/, ""),
    nodeUrl: required("YUNFAB_E2E_NODE_URL").replace(/\/+$/, ""),
    users: JSON.parse(readFileSync(required("YUNFAB_E2E_USERS"), "utf8")).users,
    artifacts: path.join(
      process.env.YUNFAB_ARTIFACTS_DIR ?? path.resolve(import.meta.dirname, "../../var/artifacts"),
      "console",
    ),
  };
}

/** A demo person by role ("node operator", "buyer", ...), on the given node when it matters. */
export function demoUser(env, role, nodeUrl = env.nodeUrl) {
  const candidates = env.users.filter((user) => user.role === role);
  const onNode = candidates.find((user) => (user.sign_in ?? "").replace(/\/+$/, "") === nodeUrl);
  const user = onNode ?? candidates[0];
  assert.ok(user, `no demo user with role ${role}`);
  return user;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.YUNFAB_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

// The pages a test opened. When it fails, each still open is photographed
// (`failed-<test>-<n>.png`) beside a note of its address, the failure and the errors the page
// logged, so a failure in CI can be read afterwards.
const open = new Set();

afterEach(async (t) => {
  const left = [...open];
  open.clear();
  if (t.passed || left.length === 0) return;
  const env = e2eEnv();
  await mkdir(env.artifacts, { recursive: true });
  const name = `failed-${t.name.replace(/[^\p{L}\p{N}]+/gu, "-").slice(0, 60)}`;
  for (const [i, page] of left.entries()) {
    const base = path.join(env.artifacts, `${name}-${i}`);
    const note = [`url: ${page.url()}`, `failure: ${t.error?.message}`, ...page.problems].join(
      "\n",
    );
    await writeFile(`${base}.txt`, `${note}\n`).catch(() => {});
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
  }
});

/** A fresh browser context (no cookies, no storage) whose page reports its own failures. */
export async function newPage(browser, { locale = "zh-CN" } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1366, height: 860 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.problems = problems;
  open.add(page);
  page.on("close", () => open.delete(page));
  return page;
}

/**
 * Opens `path` of the console, and signs `user` in through the hub's real sign-in page (the
 * form filled and sent as a person would); back on the console when it returns. The console is
 * the node's unless `at` names another service's URL (`env.hubUrl` for the hub's pages).
 */
export async function signIn(page, env, user, consolePath = "/", at = env.nodeUrl) {
  await page.goto(`${at}${consolePath}`);
  await page.getByRole("button", { name: /(登录|Sign in)$/ }).click();
  await page.waitForURL(
    (url) => url.toString().startsWith(env.hubUrl) && url.pathname.startsWith("/oauth/"),
  );
  await page.locator("#email").fill(user.email);
  await page.locator("#password").fill(user.password);
  await page.locator('button[name="decision"][value="allow"]').click();
  await page.waitForURL(
    (url) =>
      url.toString().startsWith(at) &&
      !url.pathname.startsWith("/auth/") &&
      !url.pathname.startsWith("/oauth/"),
    { timeout: 30_000 },
  );
}

/** Signs `user` in on the hub's console at `consolePath`. */
export async function signInAtHub(page, env, user, consolePath = "/") {
  await signIn(page, env, user, consolePath, env.hubUrl);
}

/** Runs axe-core in the page; fails on serious or critical violations, listing them. */
export async function checkA11y(page, label) {
  // Colours are judged as drawn: a dialog still fading in, or a field's colour transition,
  // would read as low contrast. Finite animations are let finish first (spinners run forever).
  await page
    .waitForFunction(
      () =>
        document
          .getAnimations()
          .every(
            (animation) =>
              animation.playState !== "running" ||
              animation.effect?.getTiming().iterations === Number.POSITIVE_INFINITY,
          ),
      undefined,
      { timeout: 5_000 },
    )
    .catch(() => {});
  const source = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  // Evaluated through the DevTools protocol: the page's CSP (no inline scripts) stays in force.
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    // axe is injected into the page just before.
    return window.axe.run(document, { resultTypes: ["violations"] });
  });
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes
          .slice(0, 5)
          .map((node) => `    ${node.target.join(" ")} ${node.failureSummary ?? ""}`)
          .join("\n"),
    )
    .join("\n");
  assert.equal(bad.length, 0, `axe on ${label}:\n${report}`);
  return result.violations;
}

/** A full-page screenshot at `$YUNFAB_ARTIFACTS_DIR/console/<name>.png`; returns its path. */
export async function screenshot(page, env, name) {
  await mkdir(env.artifacts, { recursive: true });
  const file = path.join(env.artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The signed-in person's access token for the node, as the console keeps it. */
export async function accessToken(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith("yunfab-console:tokens:")) {
        return JSON.parse(localStorage.getItem(key) ?? "null")?.accessToken ?? null;
      }
    }
    return null;
  });
}

/** A GraphQL call to the demo node with `token`; fails the test on any error. */
export async function nodeGraphql(env, token, query, variables) {
  const response = await fetch(`${env.nodeUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}
