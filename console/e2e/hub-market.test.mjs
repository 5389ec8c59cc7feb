// The market, person by person as they would work: the publisher signs a release on their own
// machine (`yunfab market keygen` and `yunfab market sign`, as the CLI does it) and publishes it
// in the hub's console (the manifest, the artifact and the signature file uploaded); the hub
// operator verifies the publisher and countersigns the release (its reviewer key registered in
// the console, the countersignature signed with `--review`); the node operator of
// gd-injection-moulding finds it by search, installs it on their node and follows the state
// until the node reports it installed, then sees it on the node's own console (/data).
// Every page passes axe and is screenshotted. The release's name is unique to the run.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  checkA11y,
  demoUser,
  e2eEnv,
  launch,
  newPage,
  screenshot,
  signIn,
  signInAtHub,
} from "./support.mjs";

const env = e2eEnv();
const PYTHON =
  process.env.YUNFAB_E2E_PYTHON ?? path.resolve(import.meta.dirname, "../../.venv/bin/python");
const PUBLISHER_ORG = "Lingnan Mould Know-how Studio";
const NODE = "gd-injection-moulding";
const suffix = Date.now().toString(36);
const NAME = `e2e-gate-recipe-${suffix}`;
const TITLE = `Gate balancing recipe ${suffix}`;
let browser;
let work;

function market(...args) {
  return JSON.parse(
    execFileSync(PYTHON, ["-m", "yunfab_cli", "market", ...args], { encoding: "utf8" }),
  );
}

before(async () => {
  browser = await launch();
  work = mkdtempSync(path.join(tmpdir(), "hub-market-e2e-"));
});

after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Clicks the OK of the popconfirm or modal now open. */
async function confirmPopup(page, name) {
  await page.locator(".ant-popover, .ant-popconfirm").getByRole("button", { name }).click();
}

/** Registers a public key in the console's signing-keys card, as the given kind. */
async function registerKey(page, publicKey, kindLabel) {
  const card = page.getByTestId("signing-keys");
  await card.getByLabel(/^(公钥|Public key)$/).fill(publicKey);
  const kind = card.getByLabel(/^(类型|Kind)$/);
  await kind.click();
  await page.locator(".ant-select-dropdown:visible").getByTitle(kindLabel).click();
  await card.getByRole("button", { name: /^(登\s?记|Register)$/ }).click();
}

/** Screenshots of every page still open, to see why a step failed. */
async function failureShots() {
  const pages = browser.contexts().flatMap((context) => context.pages());
  for (const [i, page] of pages.entries()) {
    await screenshot(page, env, `hub-market-failure-${i}`).catch(() => {});
  }
}

test("a release goes from the publisher's files to installed on a node", async () => {
  try {
    await publishAndInstall();
  } catch (error) {
    await failureShots();
    throw error;
  }
});

async function publishAndInstall() {
  // --- on the publisher's machine ---------------------------------------------------------
  const publisherKey = market("keygen", "--out", path.join(work, "publisher.pem"));
  const reviewerKey = market("keygen", "--out", path.join(work, "reviewer.pem"));
  const manifest = path.join(work, "manifest.toml");
  writeFileSync(
    manifest,
    [
      `name = "${NAME}"`,
      `title = "${TITLE}"`,
      'version = "1.0.0"',
      'kind = "process_recipe"',
      'yunfab = ">=0.1"',
      'license = "Apache-2.0"',
      'permissions = ["recipe:read"]',
      'summary = "Gate and runner settings that balance a four-cavity mudguard mould"',
      'industry = "injection-moulding"',
      'tags = ["mould", "gate"]',
      "",
      "[pricing]",
      'model = "free"',
      "",
    ].join("\n"),
  );
  const artifact = path.join(work, "recipe.json");
  writeFileSync(artifact, JSON.stringify({ melt_c: 235, hold_bar: 55, cavities: 4 }));
  const signed = market(
    "sign",
    "--manifest",
    manifest,
    "--artifact",
    artifact,
    "--key",
    path.join(work, "publisher.pem"),
    "--out",
    path.join(work, "release.sig.json"),
  );
  const reviewed = market(
    "sign",
    "--review",
    "--manifest",
    manifest,
    "--artifact",
    artifact,
    "--key",
    path.join(work, "reviewer.pem"),
    "--out",
    path.join(work, "review.sig.json"),
  );

  // --- the hub operator verifies the publisher and registers a reviewer key ---------------
  const reviewer = await newPage(browser);
  await signInAtHub(reviewer, env, demoUser(env, "hub operator"), "/market/publishers");
  const row = reviewer
    .getByTestId("publishers")
    .getByRole("row", { name: new RegExp(PUBLISHER_ORG) });
  await row.waitFor();
  const verify = row.getByRole("button", { name: /^(认\s?证|Verify)$/ });
  await row.getByText(/^(已认证|未认证|Verified publisher|Not verified)$/).waitFor();
  if (await verify.isVisible()) {
    await verify.click();
    await confirmPopup(reviewer, /^(认\s?证|Verify)$/);
  }
  await row.getByText(/^(已认证|Verified publisher)$/).waitFor();
  await registerKey(reviewer, reviewerKey.public_key, /^(复核人|Reviewer)$/);
  await reviewer.getByTestId("signing-keys").getByText(reviewerKey.key_id).waitFor();
  await checkA11y(reviewer, "hub market publishers");
  await screenshot(reviewer, env, "hub-market-publishers");

  // --- the publisher registers their key and uploads the three files ----------------------
  const publisher = await newPage(browser);
  await signInAtHub(publisher, env, demoUser(env, "publisher"), "/market/publish");
  await publisher.getByText(/已认证的发布方|is a verified publisher/).waitFor();
  await registerKey(publisher, publisherKey.public_key, /^(发布方|Publisher)$/);
  await publisher.getByTestId("signing-keys").getByText(publisherKey.key_id).waitFor();
  await publisher.getByTestId("pick-manifest").locator("input[type=file]").setInputFiles(manifest);
  await publisher.getByTestId("pick-artifact").locator("input[type=file]").setInputFiles(artifact);
  await publisher
    .getByTestId("pick-signature")
    .locator("input[type=file]")
    .setInputFiles(path.join(work, "release.sig.json"));
  // The browser's own digest of the artifact agrees with the signed one before anything is sent.
  await publisher.getByText(signed.artifact_sha256).first().waitFor();
  await checkA11y(publisher, "hub market publish");
  await screenshot(publisher, env, "hub-market-publish");
  await publisher.getByRole("button", { name: /^(发\s?布|Publish)$/ }).click();
  await publisher.waitForURL(/\/market\/releases\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const releaseUrl = new URL(publisher.url()).pathname;
  const signatures = publisher.getByTestId("signatures");
  await signatures.getByText(signed.key_id, { exact: true }).waitFor();
  await signatures.getByText(/尚无复核人会签|No reviewer has countersigned/).waitFor();
  await checkA11y(publisher, "hub market release (publisher)");
  await screenshot(publisher, env, "hub-market-release");
  await publisher.context().close();

  // --- the reviewer countersigns it --------------------------------------------------------
  await reviewer.goto(`${env.hubUrl}${releaseUrl}`);
  await reviewer.getByRole("button", { name: /^(会\s?签|Countersign)$/ }).click();
  const dialog = reviewer.getByRole("dialog");
  await dialog.locator("input[type=file]").setInputFiles(path.join(work, "review.sig.json"));
  await dialog.getByText(reviewed.key_id).waitFor();
  await dialog.getByRole("button", { name: /^(会\s?签|Countersign)$/ }).click();
  await reviewer.getByTestId("signatures").getByRole("cell", { name: reviewed.key_id }).waitFor();

  // --- the node operator finds it, installs it on their node and follows it ---------------
  const operatorUser = demoUser(env, "node operator");
  const operator = await newPage(browser);
  await signInAtHub(operator, env, operatorUser, `/market?q=${encodeURIComponent(NAME)}`);
  const listings = operator.getByTestId("market-listings");
  await listings.getByRole("link", { name: TITLE }).waitFor();
  await operator
    .getByTestId("facet-kind")
    .getByText(/工艺配方|Process recipe/)
    .waitFor();
  await checkA11y(operator, "hub market search");
  await screenshot(operator, env, "hub-market-search");
  await listings.getByRole("link", { name: TITLE }).click();
  await operator.waitForURL(new RegExp(`/market/listings/${NAME}$`));
  await operator.getByTestId("listing-releases").getByRole("link", { name: "1.0.0" }).waitFor();
  await checkA11y(operator, "hub market listing");
  await screenshot(operator, env, "hub-market-listing");
  await operator.getByTestId("listing-releases").getByRole("link", { name: "1.0.0" }).click();
  await operator.waitForURL(/\/market\/releases\//);
  await operator.getByRole("button", { name: /安装到节点|Install on a node/ }).click();
  const install = operator.getByRole("dialog");
  // Under load the dropdown can still be opening (or its options re-rendering as the node list
  // loads) when the option is clicked, and the click is lost: pick again until the field shows it.
  const chosen = install.getByTitle(new RegExp(`^${NODE} `));
  for (let attempt = 1; ; attempt += 1) {
    await install.getByLabel(/^(节点|Node)$/).click();
    await operator
      .locator(".ant-select-dropdown:visible .ant-select-item-option")
      .filter({ hasText: new RegExp(`^${NODE} `) })
      .click();
    try {
      await chosen.waitFor({ timeout: 5_000 });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
      await operator.keyboard.press("Escape");
    }
  }
  await install.getByRole("button", { name: /^(安\s?装|Install)$/ }).click();
  await operator.waitForURL(/installation=/, { timeout: 60_000 });
  const follow = operator.getByTestId("installation-follow");
  // The node polls the hub (every 10 s in the demo), verifies offline and reports back.
  await follow.locator('[data-status="INSTALLED"]').first().waitFor({ timeout: 60_000 });
  assert.equal(await follow.locator('[data-status="FAILED"]').count(), 0);
  await checkA11y(operator, "hub market installation");
  await screenshot(operator, env, "hub-market-install");
  await operator.goto(`${env.hubUrl}/market/installations?node=${NODE}`);
  await operator
    .getByTestId("installations")
    .getByRole("row", { name: new RegExp(TITLE) })
    .locator('[data-status="INSTALLED"]')
    .waitFor();
  await checkA11y(operator, "hub market installations");
  await screenshot(operator, env, "hub-market-installations");
  await operator.context().close();

  // --- on the node's own console, the installation is there --------------------------------
  const onNode = await newPage(browser);
  await signIn(onNode, env, operatorUser, "/data?tab=installations");
  const installed = onNode.getByRole("row", { name: new RegExp(NAME) });
  await installed.first().waitFor({ timeout: 20_000 });
  await installed
    .first()
    .getByText(/已安装|Installed/)
    .waitFor();
  await screenshot(onNode, env, "hub-market-node-data");
  assert.deepEqual(onNode.problems, []);
  await onNode.context().close();

  // --- the reviewer yanks it with a reason: hidden from search, the pinned install stays ----
  await reviewer.goto(`${env.hubUrl}${releaseUrl}`);
  await reviewer.getByRole("button", { name: /^(撤\s?下|Yank)$/ }).click();
  const yank = reviewer.getByRole("dialog");
  await yank.getByLabel(/^(原因|Reason)$/).fill("end-to-end test release, not for use");
  await yank.getByRole("button", { name: /^(撤\s?下|Yank)$/ }).click();
  await reviewer.getByText("end-to-end test release, not for use").waitFor();
  await checkA11y(reviewer, "hub market release (yanked)");
  assert.deepEqual(reviewer.problems, []);
  await reviewer.context().close();
}
