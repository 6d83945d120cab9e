// duro-server in a real headless Chromium: the tables page's "Update table" button schedules a
// rebuild and the row shows "Scheduled"; a table page shows its duration chart; its "Update
// downstream" button schedules it and every table reading it; a table whose last build broke a
// row-count rule offers "Accept and rebuild", which schedules it; screenshots of
// the jobs, tables, table and graph pages go to the folder given. No page may break the
// server's Content-Security-Policy (Chromium reports each refused script or style).
//
// Usage: node ui.mjs <server URL, like http://127.0.0.1:8080> <screenshot folder> <table to force> <table with a chart> <the tables reading it, comma-separated> <a table that broke a row-count rule>
// Exits 0 when every check passes; prints what failed otherwise.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots, forced, charted, readers, broken] = process.argv.slice(2);
if (!base || !shots || !forced || !charted || !readers || !broken) {
  console.error("usage: node ui.mjs <server URL> <screenshot folder> <table to force> <table with a chart> <tables reading it> <table that broke a rule>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok: ${message}`);
}

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const external = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base)) external.push(request.url());
  });
  const refused = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });

  await page.goto(`${base}/`);
  check((await page.locator("#timeline svg").count()) === 1, "the jobs page draws its timeline");
  await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });

  await page.goto(`${base}/tables/`);
  const row = page.locator(`tr[id="row-${forced}"]`);
  check((await row.locator("button", { hasText: "Update table" }).count()) === 1, `${forced} offers "Update table"`);
  await page.screenshot({ path: join(shots, "tables.png"), fullPage: true });
  await Promise.all([page.waitForURL(`${base}/tables/**`), row.locator("button", { hasText: "Update table" }).click()]);
  await row.locator("button", { hasText: "Scheduled" }).waitFor({ timeout: 5000 });
  check(await row.locator("button", { hasText: "Scheduled" }).isDisabled(), `${forced} now reads "Scheduled"`);
  check((await row.locator(".badge").innerText()) === "forced", `${forced} has the status "forced"`);
  await page.screenshot({ path: join(shots, "tables-after-update.png"), fullPage: true });

  await page.goto(`${base}/tables/${charted}`);
  const chart = page.locator("#durations svg");
  await chart.waitFor({ timeout: 5000 });
  const box = await chart.boundingBox();
  check(box !== null && box.width > 300 && box.height > 100, `the ${charted} page shows its duration chart (${box && Math.round(box.width)}×${box && Math.round(box.height)})`);
  check((await chart.locator("polyline").count()) >= 1, "the chart has a line through the builds");
  await page.screenshot({ path: join(shots, "table.png"), fullPage: true });

  await page.goto(`${base}/graph`);
  const node = page.locator(`#graph a[href$="/tables/${charted}"]`);
  check((await node.count()) === 1, `the graph links ${charted}`);
  const label = await page.locator("#graph svg text.a13").first().evaluate((e) => getComputedStyle(e).fontSize);
  check(label === "13px", `the graph's labels take their size from the stylesheet (${label})`);
  await page.screenshot({ path: join(shots, "graph.png"), fullPage: true });
  await Promise.all([page.waitForURL(`${base}/tables/${charted}`), node.click({ force: true })]);
  check(page.url().endsWith(`/tables/${charted}`), "clicking a graph node opens its table page");

  await page.goto(`${base}/tables/${charted}`);
  await Promise.all([
    page.waitForURL(`${base}/tables/${charted}`),
    page.locator("#force button", { hasText: "Update downstream" }).click(),
  ]);
  await page.goto(`${base}/tables/`);
  for (const name of [charted, ...readers.split(",")]) {
    const scheduled = page.locator(`tr[id="row-${name}"] button`, { hasText: "Scheduled" });
    check((await scheduled.count()) === 1, `after "Update downstream" of ${charted}, ${name} reads "Scheduled"`);
  }
  await page.screenshot({ path: join(shots, "tables-after-downstream.png"), fullPage: true });

  await page.goto(`${base}/tables/${broken}`);
  const accept = page.locator("#accept-row-drop");
  check((await accept.count()) === 1, `${broken}, whose last build broke a row-count rule, offers "Accept and rebuild"`);
  check((await page.locator("#plan-cost").innerText()).startsWith("1234.5"), `the ${broken} page shows the plan's cost`);
  await Promise.all([page.waitForURL(`${base}/tables/${broken}`), accept.click()]);
  await page.locator("#force button", { hasText: "Scheduled" }).waitFor({ timeout: 5000 });
  check((await page.locator("#force button", { hasText: "Scheduled" }).count()) === 1, `after "Accept and rebuild", ${broken} reads "Scheduled"`);
  await page.screenshot({ path: join(shots, "table-after-accept.png"), fullPage: true });

  check(refused.length === 0, `the pages keep to the Content-Security-Policy (${refused.join("; ") || "nothing refused"})`);
  check(external.length === 0, `no request leaves the server (${external.join(", ") || "none"})`);
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
