// Browser test of the compliance workspace (web/compliance.js, web/audit.js): headless Debian
// chromium driven by playwright-core, a real `hashguard serve` on an ephemeral loopback port
// with a fresh data directory and a fresh database on the ctest PostgreSQL fixture. The case
// is made through the API as in production: a list, a scan carrying the uploader headers, a
// reviewer's confirmation, a recorded production report (which starts the report hold).
//
// The CyberTipline filing routes (queue, file, status, preview) are served only when the
// filing job is wired; each step checks what the server answers: the queue's row and the XML
// preview when the routes exist, the workspace's "not available" message when they do not.
//
// Environment (tests/browser/CMakeLists.txt): HG_TEST_DATABASE_URL, HG_HASHGUARD_BIN,
// HG_TEST_IMAGE; HG_SCREENSHOT_DIR (optional) receives compliance-queue.png,
// compliance-case.png and compliance-audit.png.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through ctest`);
  return v;
};

const KEY_HEX = '6a'.repeat(32);
const ADMIN = 'hg_test_admin_compliance_0123456789abcdefg';
const INGEST = 'hg_test_ingest_compliance_0123456789abcdef';
const REVIEWER = 'hg_test_reviewer_compliance_0123456789abcd';
const COMPLIANCE = 'hg_test_compliance_ws_0123456789abcdefghij';
const dbName = `hg_browser_compliance_${process.pid}`;
const UPLOADER = '<b>uploader</b>-77';

let serveProc;
let browser;
const profile = mkdtempSync(path.join(tmpdir(), 'hg-chromium-c-'));
const dataDir = mkdtempSync(path.join(tmpdir(), 'hg-browser-c-data-'));

const psql = (sql) => execFileSync('psql', [env('HG_TEST_DATABASE_URL'), '-qXc', sql], { stdio: 'pipe' });

function databaseUrl() {
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
      `--auth.keys=ingest:${INGEST},reviewer:${REVIEWER},compliance:${COMPLIANCE}`,
      '--cases.required_confirmations=1', '--snapshot.poll_ms=50',
      '--evidence.enabled=true', `--evidence.key=${KEY_HEX}`,
      '--report.person.first_name=Test', '--report.person.last_name=Reporter',
      '--http.log_requests=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    serveProc = p;
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ base: m[1] }); }
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

const JSON_TYPE = { 'Content-Type': 'application/json' };

// A confirmed case with a preserved file, an uploader and a finished production report.
async function makeCase(base) {
  const image = readFileSync(env('HG_TEST_IMAGE'));
  const hashed = await call(base, 'POST', '/v1/hash', INGEST, image);
  assert.equal(hashed.status, 200, hashed.text);
  const list = await call(base, 'POST', '/v1/lists', ADMIN,
    JSON.stringify({ name: 'compliance-pdq', signal: 'pdq', threshold: 31, action: 'block' }), JSON_TYPE);
  assert.equal(list.status, 201, list.text);
  assert.equal((await call(base, 'POST', `/v1/lists/${list.json.id}/hashes?format=hex`, ADMIN,
    `${hashed.json.hashes.pdq}\n`)).status, 200);
  await until('the snapshot to hold the list', async () =>
    (await call(base, 'GET', '/v1/index', ADMIN)).json?.sizes?.pdq === 1);
  const scan = async (zone, id, more) => {
    const r = await call(base, 'POST', '/v1/scan', INGEST, image,
      { 'X-Zone': zone, 'X-Source-Url': `https://${zone}/i.jpg`, 'X-Request-Id': id, ...more });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.verdict, 'match');
  };
  await scan('reported.example', 'c-1', { 'X-Uploader-Account': UPLOADER, 'X-Uploader-Ip': '203.0.113.9',
    'X-Uploader-Time': '2026-12-01T08:00:00Z' });
  await scan('waiting.example', 'c-2', {});
  const queue = await call(base, 'GET', '/v1/cases?status=open&limit=10', REVIEWER);
  const byZone = Object.fromEntries(queue.json.cases.map((c) => [c.zone, c.id]));
  const reported = byZone['reported.example'];
  const waiting = byZone['waiting.example'];
  await until('evidence to be preserved', async () =>
    (await call(base, 'GET', `/v1/cases/${reported}`, REVIEWER)).json?.files?.[0]?.evidence_preserved);
  for (const id of [reported, waiting]) {
    const d = await call(base, 'POST', `/v1/cases/${id}/decision`, REVIEWER,
      JSON.stringify({ decision: 'confirmed', note: 'known item', classification: 'A2' }), JSON_TYPE);
    assert.equal(d.status, 200, d.text);
  }
  const finished = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const rep = await call(base, 'POST', `/v1/cases/${reported}/report`, COMPLIANCE, JSON.stringify(
    { report_id: 'P-77', environment: 'production', submitted_at: finished, finished_at: finished }), JSON_TYPE);
  assert.equal(rep.status, 201, rep.text);
  return { reported, waiting };
}

async function newPage(base) {
  const page = await browser.newPage();
  const problems = [];
  page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}/ui/`);
  return { page, problems };
}

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

async function shot(page, name) {
  if (!process.env.HG_SCREENSHOT_DIR) return;
  mkdirSync(process.env.HG_SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(process.env.HG_SCREENSHOT_DIR, name), fullPage: true });
}

async function signInCompliance(page) {
  await page.fill('#key', COMPLIANCE);
  await page.click('#signin-submit');
  await page.waitForSelector('table.audit');
}

const steps = [];
const step = (name, fn) => steps.push([name, fn]);

async function main() {
  const { base } = await startServe(databaseUrl());
  const seeded = await makeCase(base);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const filing = (await call(base, 'GET', '/v1/cybertipline/queue', COMPLIANCE)).status;

  step('the report queue: confirmed cases oldest first with their waiting time, or why there is none', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    assert.equal(await page.isVisible('#nav-reports'), true);
    await page.click('#nav-reports');
    await page.waitForSelector('h1:has-text("CyberTipline report queue")');
    if (filing === 200) {
      await page.waitForSelector('table.report-queue');
      const rows = await page.$$eval('table.report-queue tbody tr', (trs) => trs.map((tr) =>
        [...tr.children].map((td) => td.textContent)));
      const ours = rows.find((r) => r[0] === `#${seeded.waiting}`);
      assert.ok(ours, `case ${seeded.waiting} is in the queue: ${JSON.stringify(rows)}`);
      assert.match(ours[3], /^\d+ (s|min|h \d+ min|d \d+ h)$/);
    } else {
      assert.equal(filing, 404);
      await waitText(page, 'main', /not available on this server/);
    }
    await shot(page, 'compliance-queue.png');
    assert.deepEqual(problems, []);
    await page.close();
  });

  step('the read-only case view: reported person as text, report hold with its end, filing panel', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    await page.goto(`${base}/ui/#/compliance-case/${seeded.reported}`);
    await page.waitForSelector('#ccase-title');
    assert.equal(await page.textContent('#ccase-title'), `Case #${seeded.reported} (read-only)`);
    assert.equal(await page.textContent('#ccase-status'), 'reported');
    const up = await page.$$eval('table.uploaders tbody tr td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(up.slice(0, 3), [UPLOADER, '203.0.113.9', '2026-12-01 08:00:00Z']);
    assert.equal(await page.$$eval('table.uploaders b', (b) => b.length), 0, 'markup stays text');
    // Nothing to decide here: no decision form, no reveal button.
    assert.equal(await page.$$eval('#decide, button.reveal', (n) => n.length), 0);
    const until = await page.textContent('#report-hold-until');
    const year = new Date(Date.now() + 364 * 864e5).toISOString().slice(0, 4);
    assert.ok(until.startsWith(year), `report hold ends a year after the finish: ${until}`);
    assert.match(await page.textContent('#hold-state'), /^yes: held until .* by the preservation hold of a finished CyberTipline report$/);
    assert.match(await page.textContent('table.reports'), /P-77\s*PRODUCTION/);
    // The filing panel: preview and status from the filing routes when served.
    await page.click('#preview-report');
    if (filing === 200) {
      await waitText(page, '#report-preview', /<report[\s\S]*<personOrUserReported>[\s\S]*<\/report>/);
    } else {
      await waitText(page, '#filing-result', /Preview failed/);
      assert.match(await page.textContent('#job-none'), /No filing job/);
    }
    await shot(page, 'compliance-case.png');
    assert.deepEqual(problems, []);
    await page.close();
  });

  step('file report: the job is queued and its status shown, or the refusal said', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    await page.goto(`${base}/ui/#/compliance-case/${seeded.waiting}`);
    await page.waitForSelector('#file-report');
    await page.click('#file-report');
    if (filing === 200) {
      await page.waitForSelector('#job-status');
      assert.match(await page.textContent('#job-state'), /queued|running|finished|failed/);
      assert.match(await page.textContent('#job-status'), /test|production/);
    } else {
      await waitText(page, '#filing-result', /Not filed: /);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  step('legal hold: refused without a reason, set with one (shown and audited), lifted', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    await page.goto(`${base}/ui/#/compliance-case/${seeded.waiting}`);
    await page.waitForSelector('#hold-set');
    assert.equal(await page.textContent('#legal-hold'), 'none');
    await page.click('#hold-set');
    await waitText(page, '#hold-result', /Not held: reason is required/);
    await page.fill('#hold-reason', 'preservation letter PL-2026-5');
    await page.fill('#hold-until', '2099-01-31');
    await page.click('#hold-set');
    await waitText(page, '#legal-hold', /^preservation letter PL-2026-5 \(until 2099-01-31 00:00:00Z; set by /);
    assert.match(await page.textContent('#hold-state'), /^yes: on legal hold until 2099-01-31T00:00:00Z: preservation letter PL-2026-5$/);
    const audit = await call(base, 'GET', `/v1/audit?case=${seeded.waiting}&action=case.legal_hold`, COMPLIANCE);
    assert.equal(audit.json.entries.length, 1);
    assert.equal(JSON.parse(audit.json.entries[0].detail).reason, 'preservation letter PL-2026-5');
    await page.fill('#hold-reason', 'letter withdrawn');
    await page.click('#hold-lift');
    await waitText(page, '#legal-hold', /^none$/);
    assert.equal(await page.textContent('#hold-state'), 'no');
    assert.deepEqual(problems, []);
    await page.close();
  });

  step('a destruction request is recorded with its reference and waits for an admin', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    await page.goto(`${base}/ui/#/compliance-case/${seeded.reported}`);
    await page.waitForSelector('#destruction-request');
    await page.fill('#destruction-reference', 'LE-REQ-31337');
    await page.click('#destruction-request');
    await page.waitForSelector('table.destruction-requests');
    assert.match(await page.textContent('table.destruction-requests'), /LE-REQ-31337.*pending/);
    const approved = await call(base, 'POST', `/v1/cases/${seeded.reported}/destruction/approve`, ADMIN, '{}', JSON_TYPE);
    assert.equal(approved.status, 200, approved.text);
    await page.reload();
    await page.waitForSelector('table.destruction-requests');
    assert.match(await page.textContent('table.destruction-requests'), /LE-REQ-31337.*destroyed.*1$/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  step('audit filters (case, action prefix, dates) and the audit export', async () => {
    const { page, problems } = await newPage(base);
    await signInCompliance(page);
    await page.fill('#audit-case', String(seeded.reported));
    await page.fill('#audit-action', 'evidence.*');
    await page.click('#audit-apply');
    // The filtered page replaces the unfiltered one once its answer is in: wait for it.
    const rows = await until('the filtered audit page', async () => {
      const r = await page.$$eval('table.audit tbody tr', (trs) => trs.map((tr) =>
        [...tr.children].map((td) => td.textContent)));
      return r.length && r.every((x) => x[3].startsWith('evidence.')) ? r : null;
    });
    assert.ok(rows.some((r) => r[3] === 'evidence.destroy'));
    assert.ok(rows.length >= 2);
    for (const r of rows) {
      assert.equal(r[4], `case:${seeded.reported}`);
      assert.match(r[3], /^evidence\./);
    }
    assert.match(page.url(), /#\/audit\?action=evidence.*case=/);
    await shot(page, 'compliance-audit.png');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^id,at,actor,action,subject,detail,row_hash\r\n/);
    assert.equal(csv.trim().split('\r\n').length, rows.length + 1);
    await waitText(page, '#audit-export-result', /SHA-256 [0-9a-f]{64}/);
    await page.fill('#audit-from', '2000-01-01');
    await page.fill('#audit-to', '2000-01-02');
    await page.click('#audit-apply');
    await waitText(page, 'table.audit tbody', /^$/);
    assert.deepEqual(problems, []);
    await page.close();
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
      serveProc.kill('SIGKILL');
      await exited;
      code = 1;
    } else if (serveProc.exitCode !== 0) {
      console.error(`serve exited with ${serveProc.exitCode}`);
      code = 1;
    }
  }
  rmSync(profile, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  try {
    psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  } catch { /* the fixture's server is stopped at the end anyway */ }
}
process.exit(code);
