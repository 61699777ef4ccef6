#!/usr/bin/env node
// tests/browser/flamegraph.mjs - drive a strobe flame graph page in headless
// Chromium (Debian's `chromium`, through playwright-core) and check it works
// as a user would use it.
//
//   node tests/browser/flamegraph.mjs --page FILE.html --samples N
//        [--search TEXT] [--zoom TEXT [--tip TEXT]] [--threads] [--diff]
//        [--screenshot OUT.png [--theme light|dark]] [--budget-ms MS]
//
// Checks: the page loads from file:// with no console error, no page error
// and no request other than the page itself; the root total equals N;
// typing TEXT in the search box highlights matches; clicking the frame of
// TEXT (--zoom) zooms into it and Escape zooms out; hovering shows a
// tooltip; the inverted view keeps the total; the theme toggles; with
// --threads the thread filter shows one thread's samples; with --diff the
// elided view toggles.  --budget-ms bounds load-to-drawn time.
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
  const flag = ['threads', 'diff'].includes(key);
  args[key] = flag ? true : process.argv[++i];
}
if (!args.page || args.samples === undefined) {
  console.error('usage: flamegraph.mjs --page FILE.html --samples N [...]');
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

const browser = await chromium.launch({
  executablePath: process.env.STROBE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let exitCode = 1;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, colorScheme: 'light' });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  const url = 'file://' + path.resolve(args.page);
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('request', (r) => { if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url()); });

  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load', timeout: 120000 });
  await page.waitForFunction(() => window.strobeFlamegraph && window.strobeFlamegraph.ready, null, { timeout: 120000 });
  result.load_ms = Date.now() - t0;
  const fg = (fn, arg) => page.evaluate(fn, arg);
  result.nodes = await fg(() => window.strobeFlamegraph.nodeCount());
  result.draw = await fg(() => window.strobeFlamegraph.drawStats());
  if (args['budget-ms'] !== undefined)
    check(result.load_ms <= +args['budget-ms'], `loaded and drawn in ${result.load_ms} ms (budget ${args['budget-ms']})`);

  // the root total is the sample count, also in the summary card
  const root = await fg(() => window.strobeFlamegraph.rootValue());
  result.root = root;
  check(root === +args.samples, `root total ${root} == ${args.samples} samples`);
  const card = await page.textContent('#stat-samples');
  check(card.replace(/,/g, '') === String(args.samples), `summary card shows ${card}`);
  result.cards = {};
  for (const k of ['samples', 'duration', 'rate', 'functions', 'errors', 'missed'])
    result.cards[k] = (await page.textContent('#stat-' + k)).trim();

  // search by typing, as a user does
  if (args.search) {
    await page.fill('#search', '');
    await page.type('#search', args.search);
    await page.waitForFunction(() => +document.getElementById('search-info').dataset.matches > 0, null, { timeout: 5000 });
    const st = await fg(() => window.strobeFlamegraph.searchState());
    result.search = st;
    check(st.matches > 0 && st.samples > 0, `search "${args.search}": ${st.matches} frames highlighted`);
    const none = await fg(() => window.strobeFlamegraph.search('\u0001no such function\u0001'));
    check(none.matches === 0, 'a search without matches highlights nothing');
    await page.click('#search-clear');
    check((await fg(() => window.strobeFlamegraph.searchState())).matches === 0, 'clearing the search');
  }

  // click a frame: it becomes the zoomed root; Escape goes back
  if (args.zoom) {
    const idx = await fg((t) => window.strobeFlamegraph.find(t), args.zoom);
    check(idx > 0, `a frame named ${args.zoom} is shown`);
    const r = await fg((i) => window.strobeFlamegraph.rectOf(i), idx);
    check(r && r.w > 2, `frame ${args.zoom} is drawn (${r && r.w.toFixed(1)} px wide)`);
    await page.mouse.move(r.x + Math.min(r.w / 2, 40), r.y + r.h / 2);
    await page.waitForSelector('#tip:not([hidden])', { timeout: 5000 });
    const tip = await page.textContent('#tip');
    result.tip = tip;
    check(tip.includes(' ms') || tip.includes(' s'), 'hovering shows a tooltip with times');
    check(tip.includes('% of all'), 'the tooltip shows percentages');
    if (args.tip) check(tip.includes(args.tip), `the tooltip shows "${args.tip}"`);
    await page.mouse.click(r.x + Math.min(r.w / 2, 40), r.y + r.h / 2);
    const z = await fg(() => window.strobeFlamegraph.zoomed());
    result.zoomed = z;
    check(z.index === idx && z.name.includes(args.zoom), `click zoomed into ${z.name}`);
    const crumbs = await page.textContent('#crumbs');
    check(crumbs.includes(args.zoom), 'the zoom path names the frame');
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
    check((await fg(() => window.strobeFlamegraph.zoomed())).index === 0, 'Escape zooms out');
  }

  // inverted: the same samples, rooted at where they were spent
  await page.click('#toggle-invert');
  check(await fg(() => window.strobeFlamegraph.inverted()), 'inverted view on');
  const inv = await fg(() => window.strobeFlamegraph.rootValue());
  check(Math.abs(inv - root) < 1e-6 * Math.max(1, root), `inverted total ${inv} == ${root}`);
  await page.click('#toggle-invert');
  check(!(await fg(() => window.strobeFlamegraph.inverted())), 'inverted view off');

  // theme: a click flips it, the page's colours follow
  const bg0 = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const th0 = await fg(() => window.strobeFlamegraph.theme());
  await page.click('#toggle-theme');
  const th1 = await fg(() => window.strobeFlamegraph.theme());
  const bg1 = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(th0 !== th1 && bg0 !== bg1, `theme ${th0} -> ${th1}`);
  await page.click('#toggle-theme');

  if (args.threads) {
    const tids = await fg(() => window.strobeFlamegraph.threads());
    check(tids.length >= 2 && await page.isVisible('#thread-filter'), `thread filter offers ${tids.length} threads`);
    const want = await page.evaluate((tid) => {
      const d = JSON.parse(document.getElementById('strobe-data').textContent);
      return d.thread_values[tid][0];
    }, String(tids[0]));
    await page.selectOption('#thread-filter', String(tids[0]));
    const got = await fg(() => window.strobeFlamegraph.rootValue());
    check(got === want && got < root, `thread ${tids[0]} shows its ${want} samples`);
    await page.selectOption('#thread-filter', '');
    check((await fg(() => window.strobeFlamegraph.rootValue())) === root, 'all threads again');
  }

  if (args.diff) {
    const hasElided = await page.isVisible('#toggle-elided');
    result.elided = hasElided;
    if (hasElided) {
      await page.click('#toggle-elided');
      const n = await fg(() => window.strobeFlamegraph.nodeCount());
      check(n > 1, `elided view shows ${n} frames`);
      await page.click('#toggle-elided');
    }
  }

  if (args.screenshot) {
    // the whole page as a user first sees it, in the asked theme, with the
    // tooltip of the --zoom frame (or the hottest root child) showing
    await fg(() => { window.strobeFlamegraph.search(''); window.strobeFlamegraph.zoomTo(0); });
    await page.fill('#search', '');
    if (args.theme) await fg((t) => window.strobeFlamegraph.setTheme(t), args.theme);
    await page.mouse.move(5, 5);
    const idx = args.zoom ? await fg((t) => window.strobeFlamegraph.find(t), args.zoom) : 1;
    const r = idx > 0 ? await fg((i) => window.strobeFlamegraph.rectOf(i), idx) : null;
    if (r) {
      await page.mouse.move(r.x + Math.min(r.w / 2, 60), r.y + r.h / 2);
      await page.waitForSelector('#tip:not([hidden])', { timeout: 5000 });
    }
    await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
    await page.screenshot({ path: args.screenshot, type: 'png' });
    result.screenshot = args.screenshot;
  }

  check(requests.length === 0, 'no network requests' + (requests.length ? ': ' + requests.join(' ') : ''));
  check(errors.length === 0, 'no console errors' + (errors.length ? ': ' + errors.join(' | ') : ''));
  result.ok = true;
  exitCode = 0;
} catch (e) {
  result.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(exitCode);
