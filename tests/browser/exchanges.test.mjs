// Browser test of the exchanges page (web/exchanges.js): headless Debian chromium driven by
// playwright-core against a real `hashguard serve` that follows one folder exchange (a file of
// one PDQ hash in a temporary folder) on a fresh database of the ctest PostgreSQL fixture. An
// admin signs in, opens Exchanges from the navigation, sees the exchange's state, entries and
// last success, and starts a sync with "Sync now": the page says so and the audit log has the
// row naming the admin key.
//
// Environment (set by tests/browser/CMakeLists.txt): HG_TEST_DATABASE_URL, HG_HASHGUARD_BIN.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through ctest`);
  return v;
};

const ADMIN = 'hg_test_admin_exchanges_0123456789abcdefgh';
const dbName = `hg_browser_x_${process.pid}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'hg-browser-x-'));
const profile = mkdtempSync(path.join(tmpdir(), 'hg-chromium-x-'));
const psql = (sql, db = env('HG_TEST_DATABASE_URL')) =>
  execFileSync('psql', [db, '-qXtAc', sql], { stdio: 'pipe' }).toString().trim();

let serveProc;
let browser;

function databaseUrl() {
  const server = env('HG_TEST_DATABASE_URL');
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  psql(`CREATE DATABASE ${dbName}`);
  return server.replace(/^(postgresql:\/\/[^/]*)\/[^?]*/, `$1/${dbName}`);
}

function startServe(dbUrl, exchangesFile) {
  return new Promise((resolve, reject) => {
    const p = spawn(env('HG_HASHGUARD_BIN'), ['serve',
      '--http.address=127.0.0.1', '--http.port=0', `--database.url=${dbUrl}`,
      `--data.dir=${path.join(scratch, 'data')}`, `--auth.bootstrap_key=${ADMIN}`,
      `--exchanges.file=${exchangesFile}`, '--snapshot.poll_ms=100', '--http.log_requests=false'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    serveProc = p;
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${err}`)); });
  });
}

async function waitText(page, selector, re, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = (await page.textContent(selector).catch(() => '')) || '';
    if (re.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector} never matched ${re}: ${JSON.stringify(last)}`);
}

async function main() {
  const feed = path.join(scratch, 'feed');
  mkdirSync(feed);
  writeFileSync(path.join(feed, 'one.txt'), `${'ab'.repeat(32)}\n`);
  const conf = path.join(scratch, 'exchanges.conf');
  writeFileSync(conf, `[exchange drop]\nkind = folder\nurl = ${feed}\ninterval_s = 3600\n` +
    'feed.pdq = drop-pdq threshold=31 action=review\n');
  const dbUrl = databaseUrl();
  const base = await startServe(dbUrl, conf);

  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}/ui/`);
  await page.fill('#key', ADMIN);
  await page.click('#signin-submit');
  await page.waitForSelector('#nav-exchanges:not([hidden])');
  await page.click('#nav-exchanges');

  // The first sync runs at start: the row shows the exchange caught up with its one entry.
  const row = '#exchanges-table tbody tr';
  for (let tries = 0; ; tries += 1) {
    await waitText(page, row, /drop/);
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
    if (cells[3] === 'ok' && cells[6] === '1') {
      assert.equal(cells[0], 'drop');
      assert.equal(cells[1], 'folder');
      assert.equal(cells[2], 'csam');
      assert.match(cells[4], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, 'last success shown');
      assert.equal(cells[5], '—', 'no last error');
      assert.equal(cells[8], '0', 'no failures');
      break;
    }
    assert.ok(tries < 100, `the exchange never showed ok with 1 entry: ${JSON.stringify(cells)}`);
    await page.waitForTimeout(200);
    await page.reload();
    await page.waitForSelector(row);
  }

  await page.click('button.sync-now[data-exchange="drop"]');
  await waitText(page, '#exchanges-status', /Sync of drop started\./);
  assert.equal(psql("SELECT count(*) FROM audit_log WHERE action = 'exchange.sync'" +
    " AND subject = 'exchange:drop' AND actor = 'bootstrap'", dbUrl), '1');
  assert.deepEqual(problems, []);
  console.log('ok - exchanges page: state, counts, last success; sync now (audited)');
}

let code = 1;
try {
  await main();
  code = 0;
} catch (e) {
  console.error(e.stack || e);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (serveProc && serveProc.exitCode === null && serveProc.signalCode === null) {
    const exited = new Promise((r) => serveProc.once('exit', () => r(true)));
    serveProc.kill('SIGTERM');
    const clean = await Promise.race([exited, new Promise((r) => setTimeout(() => r(false), 10000))]);
    if (!clean) {
      serveProc.kill('SIGKILL');
      code = 1;
    }
  }
  rmSync(profile, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  try { psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } catch { /* fixture goes anyway */ }
}
process.exit(code);
