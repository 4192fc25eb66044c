// Opens a pingid-plan-report HTML page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), filters it the way a reviewer does and prints what is visible as JSON for
// browser_test.go to judge.
//
//   node check.mjs filters PAGE.html ACTION CONNECTION USER [SCREENSHOT.png]
//   node check.mjs paging PAGE.html USER     (a page with more rows than its data-page-rows)
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [mode, pagePath, ...rest] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  chromiumSandbox: false,
  args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(pathToFileURL(pagePath).href);

  // Only rows a person can see: not hidden, and not inside a hidden section.
  const visible = () => page.$$eval("tr.row", (rows) => rows
    .filter((r) => r.offsetParent !== null)
    .map((r) => ({ action: r.dataset.action, connection: r.dataset.connection, user: r.dataset.user })));
  const result = mode === "paging" ? await paging(page, visible, rest) : await filters(page, visible, rest);
  result.requests = requests;
  result.errors = errors;
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}

// paging: a long section shows its first rows and a "Show all" button; a search finds rows
// beyond them; the button shows every row.
async function paging(page, visible, [user]) {
  const result = { first: (await visible()).length, button: await page.textContent("section.rows button.more") };
  await page.fill("#f-user", user);
  result.searched = await visible();
  await page.fill("#f-user", "");
  await page.click("section.rows button.more");
  result.afterShowAll = (await visible()).length;
  result.buttonVisible = await page.isVisible("section.rows button.more");
  return result;
}

async function filters(page, visible, [action, connection, user, screenshot]) {
  const result = { all: await visible() };

  await page.selectOption("#f-action", action);
  result.byAction = await visible();
  result.hash = await page.evaluate(() => location.hash);
  result.shown = await page.textContent("#shown");
  result.visibleSections = await page.$$eval("section.rows", (ss) => ss.filter((s) => s.offsetParent !== null).map((s) => s.id));

  await page.selectOption("#f-action", "");
  await page.selectOption("#f-connection", connection);
  await page.fill("#f-user", user);
  result.byConnectionAndUser = await visible();

  // A link to a filtered view opens filtered.
  await page.goto(pathToFileURL(pagePath).href + "#action=" + encodeURIComponent(action));
  await page.reload();
  result.fromHash = await visible();

  if (screenshot) {
    await page.goto(pathToFileURL(pagePath).href);
    await page.reload();
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  return result;
}
