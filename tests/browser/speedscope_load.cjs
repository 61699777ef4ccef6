#!/usr/bin/env node
// speedscope_load.cjs - load a profile into speedscope's own static build in
// headless Chromium, as `speedscope FILE` does (the page's
// #localProfilePath=<script> hook), and report what happened.
//
//   node tests/browser/speedscope_load.cjs PROFILE [--expect TEXT]... [--screenshot PNG]
//
// Passes (prints a JSON line with "ok": true, exit 0) when the page titles
// itself "<profile name> - speedscope", shows every --expect text, and
// raised no page error, console error, dialog (speedscope alerts on an
// unrecognised format) or failed request.  Otherwise exit 1.
//
// Tools from the cache tests/provision.sh fills: $STROBE_NODE_DIR (default
// /var/cache/strobe/node: playwright-core, speedscope) and Debian's Chromium
// ($STROBE_CHROMIUM, default /usr/bin/chromium).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');

const nodeDir = process.env.STROBE_NODE_DIR || '/var/cache/strobe/node';
const req = createRequire(path.join(nodeDir, 'package.json'));
const { chromium } = req('playwright-core');
const page_html = path.join(path.dirname(req.resolve('speedscope/package.json')), 'dist/release/index.html');

const args = process.argv.slice(2);
let profile = null, shot = null;
const expect = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--screenshot') shot = args[++i];
  else if (args[i] === '--expect') expect.push(args[++i]);
  else profile = args[i];
}
if (!profile) {
  console.error('usage: speedscope_load.cjs PROFILE [--expect TEXT]... [--screenshot PNG]');
  process.exit(2);
}

async function main() {
  const problems = [];
  const data = fs.readFileSync(profile);
  const name = JSON.parse(data.toString('utf8')).name || path.basename(profile);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strobe-speedscope-'));
  const script = path.join(dir, 'load.js');
  fs.writeFileSync(script, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(profile))}, ${JSON.stringify(data.toString('base64'))})`);
  const browser = await chromium.launch({
    executablePath: process.env.STROBE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    timeout: 60000,
  });
  let result;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', e => problems.push('page error: ' + e.message));
    page.on('console', m => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
    page.on('requestfailed', r => problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText));
    page.on('dialog', async d => { problems.push('dialog: ' + d.message()); await d.dismiss(); });
    await page.goto('file://' + page_html + '#localProfilePath=' + script, { waitUntil: 'domcontentloaded' });
    const want = `${name} - speedscope`;
    try {
      await page.waitForFunction(t => document.title === t, want, { timeout: 30000 });
    } catch (e) {
      problems.push(`title is ${JSON.stringify(await page.title())}, expected ${JSON.stringify(want)}`);
    }
    // let the first frames render: errors from drawing show up here
    await page.waitForTimeout(500);
    const text = await page.evaluate(() => document.body.innerText);
    for (const t of expect) if (!text.includes(t)) problems.push(`page does not show ${JSON.stringify(t)}`);
    if (shot) await page.screenshot({ path: shot });
    result = { ok: problems.length === 0, title: await page.title(), problems };
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}
main().catch(e => { console.log(JSON.stringify({ ok: false, problems: ['driver: ' + e.message] })); process.exit(1); });
