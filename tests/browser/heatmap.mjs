#!/usr/bin/env node
// tests/browser/heatmap.mjs - open a strobe heat map directory in headless
// Chromium (Debian's `chromium`, through playwright-core) and use it as a
// person would.
//
//   node tests/browser/heatmap.mjs --dir HEATMAP_DIR --file NAME.py --line N
//        [--samples N] [--follow caller|callee] [--opcodes] [--screenshot OUT.png]
//
// Checks: index.html loads from file:// with no console error, no page error
// and no request outside the directory; it lists files whose totals match
// their rows; clicking the file NAME.py opens its page; the page shows line
// N with samples and its row's counts; the Self/Total colour toggle, "hide
// cold lines" and the minimap work; following the line's --follow link (a
// plain link, or a menu entry) lands on an existing line of a page of the
// report; with --opcodes the line's bytecode panel opens and lists
// instructions.  --screenshot saves the file page.
// Prints one JSON line of results; exit 1 on the first failure.
//
// playwright-core is looked up in $STROBE_NODE_MODULES (default
// /var/cache/strobe/node/node_modules, see tests/provision.sh); the browser
// is $STROBE_CHROMIUM (default /usr/bin/chromium).
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) throw new Error('bad argument ' + a);
  const key = a.slice(2);
  args[key] = key === 'opcodes' ? true : process.argv[++i];
}
if (!args.dir || !args.file || args.line === undefined) {
  console.error('usage: heatmap.mjs --dir DIR --file NAME.py --line N [...]');
  process.exit(2);
}

const modules = process.env.STROBE_NODE_MODULES || '/var/cache/strobe/node/node_modules';
const require = createRequire(path.join(modules, 'noop.js'));
const { chromium } = require('playwright-core');

const result = { ok: false, steps: [] };
function check(cond, what) {
  result.steps.push(what);
  if (!cond) throw new Error('check failed: ' + what);
}

const dir = path.resolve(args.dir);
const browser = await chromium.launch({
  executablePath: process.env.STROBE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let exitCode = 1;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  const errors = [];
  const outside = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('file://' + dir + '/') && !u.startsWith('data:')) outside.push(u);
  });
  const ready = () => page.waitForFunction(() => window.strobeHeatmap && window.strobeHeatmap.ready, null, { timeout: 60000 });

  // the index
  await page.goto('file://' + path.join(dir, 'index.html'), { waitUntil: 'load', timeout: 60000 });
  await ready();
  check(await page.evaluate(() => window.strobeHeatmap.page) === 'index', 'index.html is the index');
  const files = await page.evaluate(() => window.strobeHeatmap.files());
  result.files = files.length;
  check(files.length > 0, `the index lists ${files.length} files`);
  const mine = files.filter((f) => path.basename(f.path) === args.file);
  check(mine.length === 1, `the index lists ${args.file} once`);
  const card = (await page.textContent('#stat-files')).trim();
  check(+card === files.length, `"Files Profiled" ${card} == ${files.length} rows`);
  await page.click('#expand-all');
  // the file's link, clicked
  const link = page.locator(`.file a[title="${mine[0].path}"]`);
  await link.scrollIntoViewIfNeeded();
  await Promise.all([page.waitForNavigation({ timeout: 60000 }), link.click()]);
  await ready();
  result.page = path.basename(page.url());
  check(page.url().endsWith(mine[0].href), `clicking ${args.file} opened ${result.page}`);

  // the file page
  const rows = await page.evaluate(() => window.strobeHeatmap.rows());
  const want = rows.find((r) => r.line === +args.line);
  check(want && want.total > 0, `line ${args.line} has samples (${want && want.total})`);
  if (args.samples !== undefined)
    check(want.self <= +args.samples && want.total <= +args.samples, `line counts within ${args.samples} samples`);
  const total = (await page.textContent('#stat-total')).trim();
  check(+total === mine[0].total, `page total ${total} == index total ${mine[0].total}`);
  const bg = async (sel) => page.evaluate((s) => getComputedStyle(document.querySelector(s)).backgroundColor, sel);
  const hotTotal = await bg(`#line-${args.line}`);
  check(/rgba?\(/.test(hotTotal) && !/rgba\(0, 0, 0, 0\)/.test(hotTotal), `line ${args.line} is coloured (${hotTotal})`);
  await page.click('#mode-self');
  check(await page.evaluate(() => document.body.classList.contains('m-self')), 'Self colour mode');
  await page.click('#mode-total');
  const nCold = await page.locator('.ln.c').count();
  await page.click('#cold');
  if (nCold)
    check(!(await page.locator('.ln.c').first().isVisible()), `${nCold} cold lines hidden`);
  await page.click('#cold');
  const marks = await page.locator('#minimap i').count();
  check(marks > 0, `minimap shows ${marks} hot lines`);

  if (args.opcodes) {
    const btn = page.locator(`#line-${args.line} .bc`);
    check(await btn.count() === 1, `line ${args.line} has a bytecode toggle`);
    await btn.click();
    const ops = await page.locator('.bcpanel tr.op').count();
    check(ops > 0, `bytecode panel lists ${ops} instructions`);
    result.opcodes = await page.locator('.bcpanel tr.op .op-name').first().textContent();
  }
  if (args.screenshot) {
    await page.locator(`#line-${args.line}`).scrollIntoViewIfNeeded();
    await page.screenshot({ path: args.screenshot });
  }

  // follow a caller / callee of the line to another line of the report
  if (args.follow) {
    const nav = page.locator(`#line-${args.line} .nav.${args.follow}`);
    check(await nav.count() === 1, `line ${args.line} has a ${args.follow} button`);
    const tag = await nav.evaluate((e) => e.tagName);
    let target;
    if (tag === 'A') {
      target = nav;
    } else {
      await nav.click();
      await page.waitForSelector('#menu:not([hidden]) a', { timeout: 5000 });
      target = page.locator('#menu a').first();
    }
    const href = await target.getAttribute('href');
    check(/^file_\d{4}\.html#line-\d+$/.test(href), `${args.follow} link ${href}`);
    const [file, hash] = href.split('#');
    const before = page.url().split('#')[0];
    if (before.endsWith(file)) {
      await target.click();
      await page.waitForFunction((h) => location.hash === '#' + h, hash, { timeout: 5000 });
    } else {
      await Promise.all([page.waitForNavigation({ timeout: 60000 }), target.click()]);
      await ready();
    }
    const landed = await page.evaluate((h) => { const e = document.getElementById(h); return e ? e.matches(':target') && !!e.querySelector('.tt') : false; }, hash);
    check(landed, `following the ${args.follow} link landed on ${href}, a line with samples`);
    result.followed = href;
  }
  check(errors.length === 0, 'no console or page errors: ' + errors.join(' | '));
  check(outside.length === 0, 'no request outside the report: ' + outside.join(' '));
  result.ok = true;
  exitCode = 0;
} catch (e) {
  result.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(exitCode);
