// Browser tests of the reviewer UI: headless Debian chromium driven by playwright-core, a real
// `hashguard serve` on an ephemeral loopback port (its data directory a fresh temporary one),
// its database a fresh one on the ctest PostgreSQL fixture. Nothing is seeded behind the
// server's back: the test makes a hash list through the admin API, scans images through
// POST /v1/scan with an ingest key (the X-Zone and X-Source-Url of one carry script markup),
// and the cases the reviewers see are the ones those scans opened.
//
// Environment (set by tests/browser/CMakeLists.txt): HG_TEST_DATABASE_URL, HG_HASHGUARD_BIN,
// HG_TEST_IMAGE, HG_CYBERTIPLINE_MD; HG_SCREENSHOT_DIR (optional) receives queue.png and
// case.png.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through ctest`);
  return v;
};

const KEY_HEX = '5f'.repeat(32);
const ADMIN = 'hg_test_admin_0123456789abcdefghijklmnopqrs';
const INGEST = 'hg_test_ingest_0123456789abcdefghijklmnopqr';
const REVIEWER1 = 'hg_test_reviewer_one_0123456789abcdefghijk';
const REVIEWER2 = 'hg_test_reviewer_two_0123456789abcdefghijk';
const REVIEWER3 = 'hg_test_reviewer_three_0123456789abcdefghi';
const COMPLIANCE = 'hg_test_compliance_0123456789abcdefghijklm';
const dbName = `hg_browser_${process.pid}`;
// Markup in the two headers the caching layer fills in: it must reach the page as text.
const XSS_ZONE = '<script>alert("zone")</script><img src=x onerror="alert(1)">zone.example';
const XSS_URL = 'https://evil.example/<script>alert("url")</script><img src=x onerror="alert(2)">.jpg';

let serve;
let serveProc; // set as soon as it is spawned, so a server that never came up is stopped too
let browser;
const profile = mkdtempSync(path.join(tmpdir(), 'hg-chromium-'));
const dataDir = mkdtempSync(path.join(tmpdir(), 'hg-browser-data-'));

const psql = (sql) => execFileSync('psql', [env('HG_TEST_DATABASE_URL'), '-qXc', sql], { stdio: 'pipe' });

function databaseUrl() {
  // The fixture's URL names the maintenance database: the same server, our database.
  const server = env('HG_TEST_DATABASE_URL');
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  psql(`CREATE DATABASE ${dbName}`);
  const u = server.replace(/^(postgresql:\/\/[^/]*)\/[^?]*/, `$1/${dbName}`);
  assert.notEqual(u, server, 'the fixture URL names a database');
  return u;
}

function startServe(dbUrl) {
  return new Promise((resolve, reject) => {
    const p = spawn(env('HG_HASHGUARD_BIN'), ['serve',
      '--http.address=127.0.0.1', '--http.port=0', `--database.url=${dbUrl}`,
      `--data.dir=${dataDir}`, `--auth.bootstrap_key=${ADMIN}`,
      `--auth.keys=ingest:${INGEST},reviewer:${REVIEWER1},reviewer:${REVIEWER2},reviewer:${REVIEWER3},compliance:${COMPLIANCE}`,
      '--cases.required_confirmations=2', '--snapshot.poll_ms=50',
      '--evidence.enabled=true', `--evidence.key=${KEY_HEX}`,
      '--report.person.first_name=Test', '--report.person.last_name=Reporter',
      // A signatory of the industry hash-sharing MOU: report.xml carries industryClassification.
      '--reporting.hash_sharing_signatory=true',
      '--http.log_requests=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    serveProc = p;
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ proc: p, base: m[1], stderr: () => err }); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${err}`)); });
  });
}

async function call(base, method, target, key, body, headers = {}) {
  const init = { method, headers: { Authorization: `Bearer ${key}`, ...headers } };
  if (body !== undefined) init.body = body;
  const r = await fetch(`${base}${target}`, init);
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Everything through the API, as an operator and the caching layer would: a PDQ list holding
// the image's hash, then scans of it from several zones. Returns the ids the test drives.
async function makeCases(base) {
  const image = readFileSync(env('HG_TEST_IMAGE'));
  const hashed = await call(base, 'POST', '/v1/hash', INGEST, image);
  assert.equal(hashed.status, 200, hashed.text);
  const { pdq, width } = hashed.json.hashes;
  assert.ok(hashed.json.hashes.quality >= 50, 'the test image has a usable PDQ hash');
  const json = { 'Content-Type': 'application/json' };
  const list = await call(base, 'POST', '/v1/lists', ADMIN,
    JSON.stringify({ name: 'industry-pdq', signal: 'pdq', threshold: 31, action: 'block', source: 'synthetic' }), json);
  assert.equal(list.status, 201, list.text);
  const imported = await call(base, 'POST', `/v1/lists/${list.json.id}/hashes?format=hex`, ADMIN, `${pdq}\n`);
  assert.equal(imported.status, 200, imported.text);
  await until('the snapshot to hold the list', async () =>
    (await call(base, 'GET', '/v1/index', ADMIN)).json?.sizes?.pdq === 1);

  // A no_match scan first: it opens nothing and keeps nothing.
  const other = await call(base, 'POST', '/v1/scan', INGEST, readFileSync(env('HG_OTHER_IMAGE')),
    { 'X-Zone': 'shop.example', 'X-Source-Url': 'https://shop.example/other.jpg' });
  assert.equal(other.status, 200, other.text);
  assert.equal(other.json.verdict, 'no_match');

  const scan = async (zone, url, requestId, more = {}) => {
    const r = await call(base, 'POST', '/v1/scan', INGEST, image,
      { 'X-Zone': zone, 'X-Source-Url': url, 'X-Request-Id': requestId, ...more });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.verdict, 'match');
    assert.equal(r.json.action, 'block');
    return r.json.event_id;
  };
  let n = 0;
  for (const zone of ['photos.example.org', 'cdn.example.net', 'forum.example.com']) {
    await scan(zone, `https://${zone}/img/${100 + n}.jpg`, `req-${n += 1}`);
  }
  const xssEvent = await scan(XSS_ZONE, XSS_URL, 'req-xss');
  const aEvents = [await scan('shop.example', 'https://shop.example/p/1.jpg', 'req-a1'),
    // The cache layer cut this URL (X-Source-Url-Truncated): the case page says so.
    await scan('shop.example', 'https://static.shop.example/p/1.jpg', 'req-a2',
      { 'X-Source-Url-Truncated': '1' })];

  // The cases those events joined, by zone (a reviewer's queue shows the same).
  const queue = await call(base, 'GET', '/v1/cases?status=open&limit=50', REVIEWER1);
  assert.equal(queue.status, 200, queue.text);
  assert.equal(queue.json.total, 5, 'one case per zone');
  const byZone = Object.fromEntries(queue.json.cases.map((c) => [c.zone, c]));
  const caseA = byZone['shop.example'];
  assert.equal(caseA.sightings, 2);
  assert.equal(caseA.required_confirmations, 2);
  // Evidence is sealed off the request path: wait until the keeper has stored it.
  await until('evidence to be preserved', async () => {
    const d = await call(base, 'GET', `/v1/cases/${caseA.id}`, REVIEWER1);
    return d.json?.files?.[0]?.evidence_preserved;
  });
  return { case_a: caseA.id, case_xss: byZone[XSS_ZONE].id, width, xssEvent, aEvents };
}

async function newPage(base) {
  // Each page is its own tab, so its own sessionStorage: signing in on one does not sign in
  // another.
  const page = await browser.newPage();
  const context = page;
  const problems = [];
  page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}/ui/`);
  return { page, context, problems };
}

// Polls an element's text from the test side (the page's CSP forbids eval, so no
// waitForFunction).
async function waitText(page, selector, re, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = (await page.textContent(selector).catch(() => '')) || '';
    if (re.test(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`${selector} never matched ${re}: ${JSON.stringify(last)}`);
}

async function signIn(page, key) {
  await page.fill('#key', key);
  await page.click('#signin-submit');
}

const steps = [];
const step = (name, fn) => steps.push([name, fn]);

async function main() {
  serve = await startServe(databaseUrl());
  const base = serve.base;
  const seeded = await makeCases(base);
  // A fresh profile directory per run: playwright passes it as --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  step('the UI is served with a strict CSP, nosniff and no directory traversal', async () => {
    const res = await fetch(`${base}/ui/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const js = await fetch(`${base}/ui/app.js`);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    const css = await fetch(`${base}/ui/style.css`);
    assert.match(css.headers.get('content-type'), /^text\/css/);
    for (const p of ['/ui/..%2fCMakeLists.txt', '/ui/%2e%2e%2fREADME.md', '/ui/.gitignore',
      '/ui/..', '/ui/%2fetc%2fpasswd', '/ui/nope.js']) {
      const r = await fetch(`${base}${p}`);
      assert.equal(r.status, 404, p);
    }
    const html = await res.text();
    assert.doesNotMatch(html, /<script>(?!<\/script>)|<script [^>]*>[^<]/, 'no inline script');
  });

  step('the cases come from /v1/scan: their events, zones and URLs are the scans\' ', async () => {
    const d = await call(base, 'GET', `/v1/cases/${seeded.case_a}`, REVIEWER1);
    assert.equal(d.status, 200);
    assert.deepEqual(d.json.events.map((e) => e.id).sort(), [...seeded.aEvents].sort());
    assert.deepEqual(d.json.files[0].urls.sort(), ['https://shop.example/p/1.jpg', 'https://static.shop.example/p/1.jpg']);
    assert.equal(d.json.events[0].hits[0].list_name, 'industry-pdq');
    assert.equal(d.json.events[0].hits[0].threshold, 31);
    const x = await call(base, 'GET', `/v1/cases/${seeded.case_xss}`, REVIEWER1);
    assert.equal(x.json.case.zone, XSS_ZONE);
    assert.equal(x.json.events[0].id, seeded.xssEvent);
    assert.equal(x.json.events[0].source_url, XSS_URL);
    assert.equal(x.json.events[0].source_url_truncated, false);
    assert.deepEqual(d.json.events.filter((e) => e.source_url_truncated).map((e) => e.source_url),
      ['https://static.shop.example/p/1.jpg']);
  });

  step('a wrong key is refused', async () => {
    const { page, context, problems } = await newPage(base);
    await signIn(page, 'hg_this_key_does_not_exist_000000000000000');
    await page.waitForSelector('#signin-status .msg.error');
    assert.equal(await page.textContent('#signin-status'), 'Key refused.');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hashguard.key')), null);
    assert.equal(await page.isVisible('#nav'), false);
    const r = await fetch(`${base}/v1/cases`, { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(r.status, 401);
    assert.deepEqual(problems, []);
    await context.close();
  });

  step('reviewer signs in, sees the case in the queue; script markup stays text and never runs', async () => {
    const { page, context, problems } = await newPage(base);
    await signIn(page, REVIEWER1);
    await page.waitForSelector('table.queue');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hashguard.role')), 'reviewer');
    const text = await page.textContent('table.queue');
    assert.match(text, new RegExp(`#${seeded.case_a}`));
    assert.ok(text.includes(XSS_ZONE), 'zone shown as text');
    assert.ok(await page.getByRole('cell', { name: XSS_ZONE, exact: true }).isVisible(), 'the markup is visible text');
    assert.match(await page.textContent('#range'), /1–5 of 5/);
    assert.match(await page.textContent('#counts'), /open\s*5/);
    if (process.env.HG_SCREENSHOT_DIR) {
      mkdirSync(process.env.HG_SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(process.env.HG_SCREENSHOT_DIR, 'queue.png'), fullPage: true });
    }
    // The case whose zone and URL carry markup.
    await page.click(`a[href="#/case/${seeded.case_xss}"]`);
    await page.waitForSelector('#case-zone');
    assert.equal(await page.textContent('#case-zone'), XSS_ZONE);
    assert.ok(await page.isVisible('#case-zone'));
    const urls = await page.$$eval('ul.urls li', (els) => els.map((e) => e.textContent));
    assert.deepEqual(urls, [XSS_URL]);
    assert.ok(await page.getByText(XSS_URL, { exact: true }).first().isVisible(), 'the URL is visible text');
    assert.equal(await page.evaluate(() => document.querySelectorAll('main script, main img:not(.evidence)').length), 0);
    await page.waitForTimeout(300);
    // No alert() ran: newPage records every dialog as a problem.
    assert.deepEqual(problems, []);
    await context.close();
  });

  step('two-person rule: blind second review, one decision per click, final after two, then only a reopen', async () => {
    const { page, context, problems } = await newPage(base);
    await signIn(page, REVIEWER1);
    await page.waitForSelector('table.queue');
    await page.goto(`${base}/ui/#/case/${seeded.case_a}`);
    await page.waitForSelector('#decision');
    assert.match(await page.textContent('#two-person'), /Blind review/);
    assert.equal(await page.textContent('#case-status'), 'needs review');
    // The sighting whose URL the cache layer cut is marked so.
    assert.deepEqual(await page.$$eval('table.sightings em.truncated', (e) => e.map((x) => x.textContent)),
      [' (truncated)']);
    // Evidence: hidden until asked for; the blurred preview is the server's mosaic (never the
    // original bytes) and is no view.
    assert.equal(await page.$$eval('.evidence', (e) => e.length), 0);
    await page.click('button.reveal');
    await page.waitForSelector('canvas.evidence.blurred');
    const filter = await page.$eval('canvas.evidence', (e) => getComputedStyle(e).filter);
    assert.match(filter, /blur/);
    assert.match(filter, /grayscale/);
    assert.ok(await page.$eval('canvas.evidence', (e) => e.width <= 12 && e.height <= 12));
    assert.equal(await page.$$eval('img.evidence', (e) => e.length), 0);
    if (process.env.HG_SCREENSHOT_DIR) {
      await page.screenshot({ path: path.join(process.env.HG_SCREENSHOT_DIR, 'case.png'), fullPage: true });
    }
    // A dismissal without having seen the original is refused.
    await page.check('#d-false_positive');
    await page.fill('#note', 'looks fine');
    await page.click('#decide');
    await waitText(page, '#decision-status', /Refused/);
    await page.check('#d-confirmed');
    // A note is required; confirming needs a classification.
    await page.fill('#note', '');
    await page.click('#decide');
    assert.match(await page.textContent('#decision-status'), /note is required/);
    await page.fill('#note', 'matches the known item; synthetic test');
    await page.click('#decide');
    assert.match(await page.textContent('#decision-status'), /A1, A2, B1 or B2/);
    await page.selectOption('#classification', 'A2');
    // A double click sends one request: the button is disabled while the request runs.
    let posts = 0;
    const countPosts = (r) => { if (r.method() === 'POST' && r.url().endsWith('/decision')) posts += 1; };
    page.on('request', countPosts);
    await page.dblclick('#decide');
    await waitText(page, '#flash', /now open \(1 confirmation/);
    page.off('request', countPosts);
    assert.equal(posts, 1, 'one decision request for a double click');
    await waitText(page, '#two-person', /Your decision is recorded/);
    assert.match(await page.textContent('table.decisions'), /confirmed\s*A2\s*matches the known item/);
    assert.equal((await call(base, 'GET', `/v1/cases/${seeded.case_a}`, REVIEWER1)).json.decisions.length, 1);
    assert.equal(await page.$$eval('#decision', (e) => e.length), 0, 'no second decision form');
    assert.match(await page.textContent('.viewed'), /^no/, 'a preview is not a view');
    await page.click('#signout');
    await page.waitForSelector('#signin');

    // The second reviewer sees none of the first decision.
    await signIn(page, REVIEWER2);
    await page.waitForSelector('table.queue');
    await page.goto(`${base}/ui/#/case/${seeded.case_a}`);
    await page.waitForSelector('#decision');
    assert.equal(await page.textContent('#case-status'), 'needs review');
    assert.match(await page.textContent('#two-person'), /Blind review/);
    const shown = await page.textContent('main');
    assert.doesNotMatch(shown, /matches the known item|\(1\/2\)|1 confirm/);
    assert.equal(await page.$$eval('table.decisions', (e) => e.length), 0);
    await page.click('button.reveal-original');
    await page.waitForSelector('img.evidence:not(.blurred)');
    assert.equal(await page.$eval('img.evidence', (e) => e.complete && e.naturalWidth), seeded.width);
    await page.fill('#note', 'agree');
    await page.selectOption('#classification', 'A2');
    await page.click('#decide');
    await waitText(page, '#flash', /now confirmed \(2 confirmations/);
    await waitText(page, '#two-person', /final/);
    assert.equal(await page.textContent('#case-status'), 'confirmed');
    assert.match(await page.textContent('.viewed'), /^yes/);
    // Decided: no decision form, and no reopen for one who decided it.
    assert.equal(await page.$$eval('#decision, #reopen-form', (e) => e.length), 0);
    await page.click('#signout');
    await page.waitForSelector('#signin');

    // A reviewer who did not decide it may only request a reopen (one of two needed).
    await signIn(page, REVIEWER3);
    await page.waitForSelector('table.queue');
    await page.goto(`${base}/ui/#/case/${seeded.case_a}`);
    await page.waitForSelector('#reopen-form');
    assert.equal(await page.$$eval('#decision', (e) => e.length), 0);
    assert.match(await page.textContent('#two-person'), /reopen/);
    await page.fill('#reopen-reason', 'synthetic test: a second look');
    await page.click('#reopen');
    await waitText(page, '#flash', /Reopen requested \(1 of 2\)/);
    assert.equal(await page.textContent('#case-status'), 'confirmed');
    assert.deepEqual(problems.filter((p) => !/409/.test(p)), []);
    await context.close();
  });

  step('compliance sees the decisions and the reveal in the audit trail; the chain verifies', async () => {
    const { page, context, problems } = await newPage(base);
    await signIn(page, COMPLIANCE);
    await page.waitForSelector('table.audit');
    assert.equal(await page.isVisible('#nav-queue'), false);
    const rows = await page.$$eval('table.audit tbody tr', (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    const subject = `case:${seeded.case_a}`;
    const decisions = rows.filter((r) => r[3] === 'case.decision' && r[4] === subject);
    assert.equal(decisions.length, 2);
    assert.ok(decisions.some((r) => /"status":"confirmed"/.test(r[5])));
    assert.ok(rows.some((r) => r[3] === 'evidence.reveal' && r[4] === subject));
    assert.ok(rows.some((r) => r[3] === 'case.view' && r[4] === `case:${seeded.case_xss}`));
    await page.click('#verify');
    await page.waitForSelector('#verify-result .msg');
    assert.match(await page.textContent('#verify-result'), /Chain intact/);
    // A compliance key cannot read the review queue.
    const r = await fetch(`${base}/v1/cases`, { headers: { Authorization: `Bearer ${COMPLIANCE}` } });
    assert.equal(r.status, 403);
    assert.deepEqual(problems, []);
    await context.close();
  });

  step('exports over HTTP: report.xml and fileDetails follow cybertipline.md, custody audited', async () => {
    const auth = { headers: { Authorization: `Bearer ${COMPLIANCE}` } };
    const doc = readFileSync(env('HG_CYBERTIPLINE_MD'), 'utf8');
    const tableOrder = [...doc.matchAll(/^\| `([A-Za-z]+)`/gm)].map((m) => m[1]);
    const start = doc.indexOf('\n`<fileDetails>`') + 1;
    const filePara = doc.slice(start, doc.indexOf('\n\n', start));
    const flat = filePara.replace(/\([^)]*\)/g, '');
    const fileOrder = [...flat.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
    assert.equal(fileOrder[0], 'reportId');
    assert.ok(tableOrder.includes('incidentSummary') && tableOrder.includes('reporter'));
    const inOrder = (names, order) => {
      let last = 0;
      for (const n of names) {
        const i = order.indexOf(n);
        assert.ok(i >= 0, `${n} is in cybertipline.md`);
        assert.ok(i >= last, `${n} is in order`);
        last = i;
      }
    };
    // Record a submission first so reportId/fileId appear.
    const rep = await fetch(`${base}/v1/cases/${seeded.case_a}/report`, {
      method: 'POST', headers: { ...auth.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ report_id: 'T-1001', file_ids: ['F-1'], environment: 'test' }),
    });
    assert.equal(rep.status, 201);
    const { page, context } = await newPage(base);
    const parsed = await page.evaluate(async ({ b, key, id }) => {
      const get = async (part) => {
        const r = await fetch(`${b}/v1/exports/cases/${id}/cybertipline?part=${part}`, { headers: { Authorization: `Bearer ${key}` } });
        const text = await r.text();
        const d = new DOMParser().parseFromString(text, 'application/xml');
        return { status: r.status, sha: r.headers.get('X-Export-SHA256'), root: d.documentElement.nodeName,
          kids: [...d.documentElement.children].map((c) => c.nodeName),
          summary: [...(d.querySelector('incidentSummary')?.children || [])].map((c) => c.nodeName),
          hashes: [...d.querySelectorAll('originalFileHash')].map((h) => h.getAttribute('hashType')),
          text, error: d.querySelector('parsererror')?.textContent || '' };
      };
      return { report: await get('report.xml'), file: await get('fileDetails-1.xml') };
    }, { b: base, key: COMPLIANCE, id: seeded.case_a });
    await context.close();
    assert.equal(parsed.report.status, 200);
    assert.equal(parsed.report.error, '');
    assert.equal(parsed.report.root, 'report');
    inOrder(parsed.report.kids, tableOrder);
    assert.deepEqual(parsed.report.summary, ['incidentType', 'incidentDateTime']);
    assert.equal(parsed.file.root, 'fileDetails');
    inOrder(parsed.file.kids, fileOrder);
    assert.equal(parsed.file.kids[0], 'reportId');
    assert.deepEqual(parsed.file.hashes, ['MD5', 'SHA1', 'SHA256', 'PDQ']);
    assert.match(parsed.file.text, /<fileViewedByEsp>true<\/fileViewedByEsp>/);
    assert.match(parsed.file.text, /<industryClassification>A2<\/industryClassification>/);
    const audit = await (await fetch(`${base}/v1/audit?limit=5`, auth)).json();
    const custody = audit.entries.find((e) => e.action === 'export');
    assert.ok(custody);
    assert.equal(JSON.parse(custody.detail).sha256, parsed.file.sha);
  });

  step('a near-miss (a hit in a list\'s review band) answers review and the case view shows the band', async () => {
    const json = { 'Content-Type': 'application/json' };
    const other = readFileSync(env('HG_OTHER_IMAGE'));
    const hashed = await call(base, 'POST', '/v1/hash', INGEST, other);
    assert.equal(hashed.status, 200, hashed.text);
    // The other image's PDQ with its lowest 32 bits flipped: threshold 31 + 1.
    const { pdq } = hashed.json.hashes;
    const low = (parseInt(pdq.slice(-8), 16) ^ 0xffffffff) >>> 0;
    const near = pdq.slice(0, -8) + low.toString(16).padStart(8, '0');
    const list = await call(base, 'POST', '/v1/lists', ADMIN, JSON.stringify(
      { name: 'band-pdq', signal: 'pdq', threshold: 31, review_threshold: 48, action: 'block' }), json);
    assert.equal(list.status, 201, list.text);
    assert.equal((await call(base, 'POST', `/v1/lists/${list.json.id}/hashes?format=hex`, ADMIN, `${near}\n`)).status, 200);
    await until('the snapshot to hold the band list', async () =>
      (await call(base, 'GET', '/v1/index', ADMIN)).json?.sizes?.pdq === 2);
    const r = await call(base, 'POST', '/v1/scan', INGEST, other,
      { 'X-Zone': 'near.example', 'X-Source-Url': 'https://near.example/a.jpg', 'X-Request-Id': 'req-near' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.verdict, 'match');
    assert.equal(r.json.action, 'review');
    const q = await call(base, 'GET', '/v1/cases?zone=near.example', REVIEWER3);
    assert.equal(q.json.cases.length, 1);
    assert.equal(q.json.cases[0].near_miss, true);
    const { page, context, problems } = await newPage(base);
    await signIn(page, REVIEWER3);
    await page.waitForSelector('table.queue');
    await page.goto(`${base}/ui/#/case/${q.json.cases[0].id}`);
    await page.waitForSelector('#case-near-miss');
    assert.match(await page.textContent('#case-near-miss'), /Near-miss: .*review band, at distance 32/);
    assert.match(await page.textContent('table.matches'), /32 \(review band\)/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  let failed = 0;
  for (const [name, fn] of steps) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`not ok - ${name}\n${e.stack}`);
    }
  }
  console.log(`${steps.length - failed}/${steps.length} browser tests passed`);
  return failed;
}

let code = 1;
try {
  code = (await main()) === 0 ? 0 : 1;
} catch (e) {
  console.error(e.stack || e);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (serveProc && serveProc.exitCode === null && serveProc.signalCode === null) {
    const exited = new Promise((r) => serveProc.once('exit', () => r(true)));
    serveProc.kill('SIGTERM');
    const clean = await Promise.race([exited, new Promise((r) => setTimeout(() => r(false), 10000))]);
    if (!clean) {
      console.error('serve did not stop on SIGTERM within 10 s: killed');
      serveProc.kill('SIGKILL');
      await exited;
      code = 1;
    } else if (serveProc.exitCode !== 0) {
      console.error(`serve exited with ${serveProc.exitCode} (signal ${serveProc.signalCode})`);
      code = 1;
    }
  }
  rmSync(profile, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  // The server was given a temporary data directory: nothing may land in the source tree.
  if (existsSync(new URL('./hashguard-data', import.meta.url))) {
    console.error('tests/browser/hashguard-data exists: serve wrote into the source tree');
    code = 1;
  }
  try {
    psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  } catch { /* the fixture's server is stopped at the end anyway */ }
}
process.exit(code);
