// The hub operator signs in at the hub and sees both demo nodes online on the overview, follows
// a node going offline and back live (heartbeats sent as the node itself), filters the nodes
// list by region, looks at the region view and a node's detail with its data products and
// installations, and switches the language. A data consumer sees the nodes menu too: the node
// directory is public (policies/hub_federation.rego, `readNodes` true for everyone). Each page
// passes axe and its screenshot is kept.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
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

/** A heartbeat as the demo's zj-textile node itself, with the credentials the demo gave it. */
async function heartbeat(status) {
  const credentials = JSON.parse(
    readFileSync(
      path.join(
        path.dirname(process.env.YUNFAB_E2E_USERS),
        "nodes",
        "zj-textile",
        "credentials.json",
      ),
      "utf8",
    ),
  );
  const basic = Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString(
    "base64",
  );
  const tokenResponse = await fetch(`${env.hubUrl}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${basic}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "nodes:register" }),
  });
  assert.equal(tokenResponse.status, 200, await tokenResponse.clone().text());
  const { access_token: token } = await tokenResponse.json();
  const response = await fetch(`${env.hubUrl}/api/v1/nodes/zj-textile/heartbeats`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ status }),
  });
  assert.equal(response.status, 200, await response.clone().text());
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

test("the hub operator watches the nodes, filters them and opens one", async () => {
  const page = await newPage(browser, { locale: "zh-CN" });
  // The page's subscription to node events, once the console has asked for it.
  const subscribed = new Promise((resolve) => {
    page.on("websocket", (socket) => {
      socket.on("framesent", (frame) => {
        if (String(frame.payload).includes("HubNodeEvents")) resolve();
      });
    });
  });
  await signInAtHub(page, env, demoUser(env, "hub operator"));
  await page.getByRole("heading", { name: "平台概览", level: 2 }).waitFor();
  await settled(page);
  const byRegion = page.getByTestId("by-region");
  await byRegion.getByRole("link", { name: "广东 (CN-GD)" }).waitFor();
  await byRegion.getByRole("link", { name: "浙江 (CN-ZJ)" }).waitFor();
  await page.getByText("所有节点均在线。").waitFor();
  const online = Number((await page.getByTestId("count-online").textContent()).trim());
  assert.ok(online >= 2, `both demo nodes online, got ${online}`);
  await checkA11y(page, "hub overview");
  await screenshot(page, env, "hub-nodes-overview");

  // zj-textile says it is stopping, then is back: the overview follows without a reload. The
  // node's own heartbeats (every few seconds) bring it back too, so the lasting proof is the
  // page's list of recent changes.
  await subscribed;
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  const events = page.getByTestId("node-events");
  try {
    // The socket may still be setting the subscription up at the hub: try again if missed.
    for (let attempt = 1; ; attempt++) {
      await heartbeat("stopping");
      const seen = await events
        .getByText("zj-textile 已离线")
        .first()
        .waitFor({ timeout: 10_000 })
        .then(
          () => true,
          () => false,
        );
      if (seen) break;
      assert.ok(attempt < 3, "the overview never showed zj-textile going offline");
      await heartbeat("online");
    }
  } finally {
    await heartbeat("online");
  }
  await events.getByText("zj-textile 已上线").first().waitFor();
  await page.getByText("所有节点均在线。").waitFor();
  assert.equal(navigations, 0, "the page was reloaded");

  // The same page in English.
  await page.getByText("English", { exact: true }).click();
  await page.getByRole("heading", { name: "Platform overview", level: 2 }).waitFor();

  // The nodes list, narrowed to Guangdong (the filter is in the address).
  await page.getByRole("menuitem", { name: "Nodes" }).click();
  await page.getByRole("heading", { name: "Regional nodes", level: 2 }).waitFor();
  await settled(page);
  const table = page.getByTestId("nodes-table");
  await table.getByRole("link", { name: "zj-textile" }).waitFor();
  const region = page.getByRole("combobox", { name: "Region" });
  await region.fill("Guangdong");
  await region.press("Enter");
  await page.waitForURL((url) => url.searchParams.get("region") === "CN-GD");
  await closeSelect(page);
  await table.getByRole("link", { name: "zj-textile" }).waitFor({ state: "detached" });
  const gd = table.locator("tr", {
    has: page.getByRole("link", { name: "gd-injection-moulding" }),
  });
  await gd.getByText("Online").waitFor();
  assert.match(await gd.locator("code").first().textContent(), /^\d/, "the node's version");
  await checkA11y(page, "hub nodes list");
  await screenshot(page, env, "hub-nodes-list");

  // The region view: provinces and industries with their counts.
  await page.getByText("By region", { exact: true }).click();
  await page.waitForURL((url) => url.searchParams.get("view") === "regions");
  const regions = page.getByTestId("regions-table");
  await regions.getByText("Guangdong (CN-GD)").waitFor();
  await regions.getByText("injection-moulding").waitFor();
  await checkA11y(page, "hub nodes by region");
  await screenshot(page, env, "hub-nodes-regions");

  // A node's detail: its fields, data products and market installations.
  await page.getByRole("menuitem", { name: "Nodes" }).click();
  await page.waitForURL((url) => url.pathname === "/nodes" && !url.search);
  await table.getByRole("link", { name: "gd-injection-moulding" }).click();
  await page.getByRole("heading", { name: "Node gd-injection-moulding", level: 2 }).waitFor();
  await page.getByRole("heading", { name: "Data products", level: 3 }).waitFor();
  await page.getByRole("heading", { name: "Market installations", level: 3 }).waitFor();
  await page.getByTestId("node-base-url").waitFor();
  await settled(page);
  // The hub operator's staff read the catalog (role operator: exchange:read): the product the
  // demo's node publishes is listed.
  await page
    .getByTestId("node-products")
    .getByText("Regional capacity by process and week")
    .first()
    .waitFor();
  await page.getByTestId("node-installations").locator(".ant-table, .ant-empty").first().waitFor();
  await page.getByRole("button", { name: "Change URL…" }).waitFor();
  await checkA11y(page, "hub node detail");
  await screenshot(page, env, "hub-nodes-detail");

  // Back to Chinese for whoever signs in next in this browser.
  await page.getByText("中文", { exact: true }).click();
  await page.getByRole("heading", { name: "节点 gd-injection-moulding", level: 2 }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("a data consumer sees the public node directory but cannot move nodes", async () => {
  const page = await newPage(browser, { locale: "zh-CN" });
  await signInAtHub(page, env, demoUser(env, "data consumer"), "/nodes/gd-injection-moulding");
  await page.getByRole("heading", { name: "节点 gd-injection-moulding", level: 2 }).waitFor();
  await page.getByRole("menu").getByRole("link", { name: "节点", exact: true }).waitFor();
  // The products this node publishes are in the catalog, theirs to read; its installations are
  // its operator's business: the hub refuses them, and the page shows the refusal's code.
  await page.getByTestId("node-base-url").waitFor();
  await page.getByTestId("node-products").locator(".ant-table, .ant-empty").first().waitFor();
  await page.getByTestId("node-installations").getByText("FORBIDDEN").waitFor();
  assert.equal(await page.getByRole("button", { name: "更改地址…" }).count(), 0);
  await checkA11y(page, "hub node detail, data consumer");
  await screenshot(page, env, "hub-nodes-detail-consumer");
  await page.context().close();
});
