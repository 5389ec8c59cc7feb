// The hub operator, at the hub's console, creates an organization, a person in it (the
// one-time password shown once) and an OAuth2 client with scopes (the secret shown once, and
// it really gets a token), rotates the token signing key and sees the new kid active, and
// verifies the audit chain. Each page passes axe and its screenshot is kept. Everything made
// has a unique name; the rotation leaves the previous key verifying the tokens it signed.
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

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector(".ant-skeleton"));
  assert.equal(await page.locator(".ant-alert-error").count(), 0, "an API error is shown");
}

/** The one-time value the secret dialog shows, after its checks; the dialog closed. */
async function takeSecret(page, label, shot) {
  const dialog = page.getByRole("dialog").filter({ has: page.getByTestId("secret-value") });
  await dialog.waitFor();
  const secret = (await dialog.getByTestId("secret-value").textContent()).trim();
  const subject = (await dialog.getByTestId("secret-subject").textContent()).trim();
  assert.ok(secret.length >= 12, `a ${label} is shown`);
  await checkA11y(page, `${label} dialog`);
  await screenshot(page, env, shot);
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await dialog.waitFor({ state: "hidden" });
  // Shown once: nowhere on the page any more.
  assert.equal((await page.content()).includes(secret), false, `${label} still on the page`);
  return { secret, subject };
}

test("the hub operator manages organizations, people, clients, keys and the audit chain", async () => {
  const suffix = Date.now().toString(36);
  const orgName = `E2E Works ${suffix}`;
  const email = `e2e-${suffix}@people.example.com`;
  const clientName = `E2E ERP ${suffix}`;
  const page = await newPage(browser, { locale: "en" });
  await signInAtHub(page, env, demoUser(env, "hub operator"), "/organizations");

  // Organizations: the list, then a new one (its page opens).
  await page.getByRole("heading", { name: "Organizations", exact: true }).waitFor();
  await settled(page);
  await page.getByTestId("organizations-table").waitFor();
  await checkA11y(page, "organizations");
  await screenshot(page, env, "hub-people-organizations");
  await page.getByRole("button", { name: "New organization" }).click();
  const orgDialog = page.getByRole("dialog");
  await orgDialog.getByLabel("Name").fill(orgName);
  await orgDialog.getByRole("button", { name: "Create" }).click();
  await page.getByRole("heading", { name: orgName }).waitFor();
  await page.waitForURL(/\/organizations\/[0-9a-f-]{36}$/);
  await settled(page);
  await checkA11y(page, "organization");
  await screenshot(page, env, "hub-people-organization");

  // A person in it, from the organization's people: the one-time password once.
  await page.getByRole("link", { name: "Manage people" }).click();
  await page.getByRole("heading", { name: "People", exact: true }).waitFor();
  await page.getByText(`Organization: ${orgName}`).waitFor();
  await page.getByRole("button", { name: "New person" }).click();
  const userDialog = page.getByRole("dialog");
  await userDialog.getByLabel("Email").fill(email);
  await userDialog.getByLabel("Name").fill("E2E Person");
  await userDialog.getByRole("checkbox", { name: "Buyer" }).check();
  await userDialog.getByText(orgName).first().waitFor(); // the organization is chosen
  await userDialog.getByRole("button", { name: "Create" }).click();
  const password = await takeSecret(page, "one-time password", "hub-people-users-password");
  assert.equal(password.subject, email);
  await page.getByRole("cell", { name: email, exact: true }).waitFor();
  // A reset gives another one-time password, shown once too.
  await page.getByRole("button", { name: `Actions for ${email}` }).click();
  await page.getByRole("menuitem", { name: "Reset password" }).click();
  await page
    .getByRole("dialog", { name: `Reset the password of ${email}?` })
    .getByRole("button", { name: "Reset password" })
    .click();
  const reset = await takeSecret(page, "new one-time password", "hub-people-users-reset");
  assert.notEqual(reset.secret, password.secret);
  await settled(page);
  await checkA11y(page, "people");
  await screenshot(page, env, "hub-people-users");

  // An OAuth2 client of the organization with two scopes: the secret once, and it works.
  const orgId = new URL(page.url()).searchParams.get("org");
  await page.goto(`${env.hubUrl}/clients?org=${orgId}`);
  await page.getByRole("heading", { name: "OAuth2 clients", exact: true }).waitFor();
  await page.getByText(`Organization: ${orgName}`).waitFor();
  await page.getByRole("button", { name: "New client" }).click();
  const clientDialog = page.getByRole("dialog");
  await clientDialog.getByLabel("Name").fill(clientName);
  await clientDialog.getByRole("checkbox", { name: "orgs:read" }).check();
  await clientDialog.getByRole("checkbox", { name: "exchange:read" }).check();
  await clientDialog.getByRole("button", { name: "Create" }).click();
  const client = await takeSecret(page, "client secret", "hub-people-clients-secret");
  const basic = Buffer.from(`${client.subject}:${client.secret}`).toString("base64");
  const token = await fetch(`${env.hubUrl}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${basic}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "orgs:read" }),
  });
  assert.equal(token.status, 200, await token.clone().text());
  await page.getByRole("cell", { name: clientName, exact: true }).waitFor();
  await settled(page);
  await checkA11y(page, "clients");
  await screenshot(page, env, "hub-people-clients");

  // The signing key rotates: the new kid is the active one.
  await page.getByRole("link", { name: "Keys and revocations" }).click();
  await page.getByRole("heading", { name: "Signing keys and revocations" }).waitFor();
  const activeKid = page.getByTestId("active-kid");
  await activeKid.waitFor();
  const before = (await activeKid.textContent()).trim();
  await page.getByRole("button", { name: "Rotate signing key" }).click();
  await page.locator(".ant-popconfirm").getByRole("button", { name: "Rotate signing key" }).click();
  await page.waitForFunction((old) => {
    const shown = document.querySelector('[data-testid="active-kid"]')?.textContent?.trim();
    return shown && shown !== old;
  }, before);
  const rotated = (await activeKid.textContent()).trim();
  await page.getByRole("row", { name: new RegExp(`${before}.*Previous`) }).waitFor();
  const jwks = await (await fetch(`${env.hubUrl}/.well-known/jwks.json`)).json();
  assert.ok(
    jwks.keys.some((key) => key.kid === rotated),
    "the new key is published",
  );
  await settled(page);
  await checkA11y(page, "keys");
  await screenshot(page, env, "hub-people-keys");
  await page.getByRole("tab", { name: "Revoked tokens" }).click();
  await page.waitForURL((url) => url.searchParams.get("tab") === "revocations");
  await settled(page);
  await checkA11y(page, "revocations");
  await screenshot(page, env, "hub-people-revocations");

  // The audit log has what was done, and the chain verifies.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Hub audit log" }).waitFor();
  await page.getByLabel("Action").fill("keys.rotated");
  await page.getByLabel("Action").press("Enter");
  await page.waitForURL((url) => url.searchParams.get("action") === "keys.rotated");
  await page.getByRole("cell", { name: rotated, exact: true }).waitFor();
  await page.getByRole("button", { name: "Verify the chain" }).click();
  const result = page.getByTestId("chain-result");
  await result.waitFor();
  assert.match(await result.textContent(), /Verified: all \d+ entries hold/);
  await settled(page);
  await checkA11y(page, "audit");
  await screenshot(page, env, "hub-people-audit");
  assert.deepEqual(page.problems, []);
});

test("a data consumer is refused the people pages, with the API's code", async () => {
  const consumer = demoUser(env, "data consumer");
  const page = await newPage(browser, { locale: "zh-CN" });
  await signInAtHub(page, env, consumer, "/users");
  // The API refuses, and the page says so with the code; the menu has no people entries.
  await page.locator(".ant-alert-error").waitFor();
  assert.match(await page.locator(".ant-alert-error").textContent(), /FORBIDDEN/);
  assert.equal(await page.getByRole("menuitem", { name: "人员" }).count(), 0);
  await checkA11y(page, "people refused");
  await screenshot(page, env, "hub-people-refused");
});
