// The compliance workspace (issue 19): the CyberTipline report queue, a read-only case view,
// "file report" with a preview of the report XML, each report's status (its steps, errors,
// retries, receipt and environment), the case's holds (report hold and legal hold, set and
// lifted with a reason) and a law-enforcement destruction request. Text goes in through
// textContent only (dom.js), so nothing a case holds is ever parsed as markup.
import * as api from './api.js';
import { el, table, dl, message, when } from './dom.js';

// "3 d 4 h", "5 h 12 min", "42 s": how long a confirmed case has waited for its report.
export function waited(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

const unavailable = (e) => e.status === 404 || e.status === 501;

// #/compliance: confirmed cases not yet reported, oldest confirmation first.
export async function reportQueuePage(main, params) {
  main.append(el('h1', { text: 'CyberTipline report queue' }),
    el('p', { class: 'muted', text: 'Confirmed cases not yet reported, oldest confirmation first. ' +
      'A report is due "as soon as reasonably possible" (18 U.S.C. 2258A).' }));
  const after = params.get('after');
  let q;
  try {
    q = await api.get(`/v1/cybertipline/queue?limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`);
  } catch (e) {
    if (!unavailable(e)) throw e;
    main.append(message('The filing queue is not available on this server (no filing job wired).', 'error'));
    return;
  }
  main.append(el('p', {}, 'Environment: ', envBadge(q.environment)));
  const rows = q.cases.map((c) => [
    el('a', { href: `#/compliance-case/${c.case_id}`, class: 'case-link', text: `#${c.case_id}` }),
    el('span', { class: 'zone', text: c.zone }),
    when(c.confirmed_at),
    el('span', { class: 'waiting', text: waited(c.waiting_s) }),
    `${c.evidence_files} of ${c.files}`,
    c.job ? el('span', { class: `status job-${c.job.state}`, text: `${c.job.state} (${c.job.step})` }) : 'no job',
    c.job?.last_error ? el('code', { class: 'detail', text: c.job.last_error }) : '',
  ]);
  main.append(rows.length
    ? table(['Case', 'Zone', 'Confirmed', 'Waiting', 'Evidence files', 'Job', 'Last error'], rows, 'grid report-queue')
    : message('No confirmed case is waiting for a report.', 'ok'));
  if (q.next) {
    main.append(el('div', { class: 'pager' },
      el('a', { href: `#/compliance?after=${encodeURIComponent(q.next)}`, text: 'Next ›' })));
  }
}

function envBadge(env) {
  return el('span', { class: `badge env env-${env}`, text: env === 'production' ? 'PRODUCTION' : String(env || 'unknown') });
}

// #/compliance-case/ID: the case read-only, its holds, its report.
export async function complianceCasePage(main, id, reload) {
  const d = await api.get(`/v1/cases/${encodeURIComponent(id)}/compliance?limit=20`);
  const c = d.case;
  main.append(el('p', {}, el('a', { href: '#/compliance', text: '‹ Back to the report queue' })),
    el('h1', { id: 'ccase-title', text: `Case #${c.id} (read-only)` }),
    dl([
      ['Zone', el('span', { id: 'ccase-zone', text: c.zone })],
      ['Status', el('span', { id: 'ccase-status', class: `status ${c.status}`, text: c.status.replace('_', ' ') })],
      ['Classification', c.classification ?? '—'],
      ['Sightings', c.sightings], ['Files', c.files],
      ['First seen', when(c.first_seen)], ['Last seen', when(c.last_seen)],
      ['Reported', when(c.reported_at)], ['Preserve until', when(c.preserve_until)],
    ]));

  main.append(el('h2', { text: 'Reported person' }), uploaders(d));
  main.append(el('h2', { text: 'Files' }), table(['#', 'SHA-256', 'First URL', 'Sightings', 'Viewed by ESP', 'Evidence'],
    d.files.map((f, i) => [i + 1, el('code', { text: f.sha256 || f.content }), el('span', { class: 'url', text: f.first_url || '—' }),
      f.sightings, f.viewed_by_esp ? `yes (${f.viewed_by}, ${when(f.viewed_at)})` : 'no',
      f.evidence_preserved ? 'preserved' : '—']), 'grid files'));
  main.append(el('h2', { text: 'Decisions' }), table(['Reviewer', 'Decision', 'Classification', 'When', 'Note'],
    d.decisions.map((x) => [x.reviewer, x.decision, x.classification ?? '', when(x.decided_at), x.note]), 'grid decisions'));

  main.append(el('h2', { text: 'CyberTipline report' }), await filingPanel(c, reload));
  if (d.reports.length) {
    main.append(table(['Report id', 'Environment', 'Submitted', 'Finished', 'File ids'],
      d.reports.map((r) => [r.report_id, envBadge(r.environment), when(r.submitted_at), when(r.finished_at),
        r.file_ids.join(', ')]), 'grid reports'));
  }
  main.append(el('h2', { text: 'Holds' }), holdsPanel(c, d.holds, reload));
  main.append(el('h2', { text: 'Law-enforcement destruction request' }), destructionPanel(c, d.holds, reload));
  main.append(el('p', {}, el('a', { href: `#/audit?case=${c.id}`, id: 'ccase-audit', text: 'This case\'s audit trail ›' })));
}

function uploaders(d) {
  if (!d.uploaders.length) {
    return message('No ingest request named the uploader (X-Uploader-* headers).', 'info');
  }
  const rows = [];
  for (const u of d.uploaders) {
    for (const ev of u.upload_events) {
      rows.push([u.account ?? '—', ev.ip ?? '—', when(ev.at), ev.sightings]);
    }
  }
  const shown = d.uploaders_total > d.uploaders.length
    ? message(`${d.uploaders.length} of ${d.uploaders_total} uploader accounts shown.`, 'info') : null;
  return el('div', {}, table(['Account', 'Upload IP', 'Upload time', 'Sightings'], rows, 'grid uploaders'), shown);
}

async function filingPanel(c, reload) {
  const box = el('div', { id: 'filing', class: 'card' });
  const out = el('div', { id: 'filing-result' });
  const preview = el('pre', { id: 'report-preview', class: 'xml', hidden: true });
  const previewButton = el('button', { type: 'button', id: 'preview-report', text: 'Preview the report XML' });
  previewButton.addEventListener('click', async () => {
    try {
      const res = await api.request('GET', `/v1/cases/${c.id}/cybertipline/preview`, undefined, { raw: true });
      preview.textContent = await res.text();
      preview.hidden = false;
    } catch (e) {
      out.replaceChildren(message(`Preview failed: ${e.message}`, 'error'));
    }
  });
  const file = el('button', { type: 'button', id: 'file-report', text: 'File report' });
  file.addEventListener('click', async () => {
    file.disabled = true;
    try {
      const job = await api.post(`/v1/cases/${c.id}/cybertipline`, {});
      out.replaceChildren(message(`Filing job #${job.id} queued (${job.environment}).`, 'ok'));
      reload();
    } catch (e) {
      out.replaceChildren(message(`Not filed: ${e.code ? `${e.code}: ` : ''}${e.message}`, 'error'));
      file.disabled = false;
    }
  });
  box.append(el('div', { class: 'toolbar' }, previewButton, file), out, preview);
  let job = null;
  try {
    job = await api.get(`/v1/cases/${c.id}/cybertipline`);
  } catch (e) {
    if (!unavailable(e)) throw e;
  }
  box.append(job ? jobStatus(job) : el('p', { id: 'job-none', class: 'muted', text: 'No filing job for this case yet.' }));
  return box;
}

function jobStatus(job) {
  const facts = dl([
    ['Environment', envBadge(job.environment)],
    ['State', el('span', { id: 'job-state', class: `status job-${job.state}`, text: job.state })],
    ['Step', `${job.step}${job.file_count ? ` (file ${Math.min(job.file_index + 1, job.file_count)} of ${job.file_count})` : ''}`],
    ['Report id', job.report_id ?? '—'],
    ['Attempts', `${job.attempts} of ${job.max_attempts} on this step; ${job.restarts} restarts`],
    ['Last error', job.last_error ? el('code', { id: 'job-error', class: 'detail', text: job.last_error }) : '—'],
    ['Requested by', job.requested_by], ['Opened', when(job.opened_at)],
    ['Open until', when(job.open_deadline)], ['Finished', when(job.finished_at)],
  ]);
  const steps = (job.steps || []).map((s) => [s.step, s.file_index ?? '', s.attempt,
    s.http_status ?? '—', s.response_code ?? '—', s.error ? el('code', { class: 'detail', text: s.error }) : '',
    when(s.at),
    el('details', { class: 'receipt' }, el('summary', { text: `${s.method} ${s.url}` }),
      el('p', { class: 'muted', text: 'Request' }), el('pre', { class: 'xml', text: s.request || '' }),
      el('p', { class: 'muted', text: 'Response' }), el('pre', { class: 'xml', text: s.response || '' }))]);
  return el('div', { id: 'job-status' }, facts,
    el('h3', { text: 'Steps and receipts' }),
    table(['Step', 'File', 'Attempt', 'HTTP', 'responseCode', 'Error', 'At', 'Receipt'], steps, 'grid job-steps'));
}

function holdsPanel(c, holds, reload) {
  const box = el('div', { id: 'holds', class: 'card' });
  box.append(dl([
    ['Held now', el('span', { id: 'hold-state', text: holds.held ? `yes: ${holds.held_because}` : 'no' })],
    ['Report hold until', el('span', { id: 'report-hold-until', text: when(holds.report_hold_until) })],
    ['Legal hold', el('span', { id: 'legal-hold', text: holds.legal_hold
      ? `${holds.legal_hold.reason} (until ${holds.legal_hold.until ? when(holds.legal_hold.until) : 'lifted'}; set by ${holds.legal_hold.set_by}, ${when(holds.legal_hold.set_at)})`
      : 'none' })],
    ['Evidence destroyed', when(holds.evidence_destroyed_at)],
  ]));
  const out = el('div', { id: 'hold-result' });
  const reason = el('textarea', { id: 'hold-reason', rows: 2, cols: 60, placeholder: 'Why (audited): e.g. preservation letter ref.' });
  const until = el('input', { type: 'date', id: 'hold-until' });
  const set = el('button', { type: 'button', id: 'hold-set', text: holds.legal_hold ? 'Replace the legal hold' : 'Set a legal hold' });
  set.addEventListener('click', async () => {
    try {
      await api.post(`/v1/cases/${c.id}/hold`, { reason: reason.value, until: until.value || null });
      reload();
    } catch (e) {
      out.replaceChildren(message(`Not held: ${e.message}`, 'error'));
    }
  });
  const lift = el('button', { type: 'button', id: 'hold-lift', text: 'Lift the legal hold', hidden: !holds.legal_hold });
  lift.addEventListener('click', async () => {
    try {
      await api.post(`/v1/cases/${c.id}/hold/lift`, { reason: reason.value });
      reload();
    } catch (e) {
      out.replaceChildren(message(`Not lifted: ${e.message}`, 'error'));
    }
  });
  box.append(el('div', { class: 'filters' },
    el('label', {}, 'Reason', reason), el('label', {}, 'Until (optional)', until)),
  el('div', { class: 'toolbar' }, set, lift), out,
  el('p', { class: 'muted', text: 'Lifting a legal hold never shortens the report hold of a finished report.' }));
  return box;
}

function destructionPanel(c, holds, reload) {
  const box = el('div', { id: 'destruction', class: 'card' });
  const reqs = holds.destruction_requests || [];
  if (reqs.length) {
    box.append(table(['#', 'Reference', 'Requested by', 'Requested', 'State', 'Approved by', 'Files destroyed'],
      reqs.map((r) => [r.id, r.reference, r.requested_by, when(r.requested_at), r.state, r.approved_by ?? '—', r.destroyed ?? '—']),
      'grid destruction-requests'));
  }
  const out = el('div', { id: 'destruction-result' });
  const reference = el('input', { type: 'text', id: 'destruction-reference', size: 40, placeholder: 'law-enforcement request reference' });
  const ask = el('button', { type: 'button', id: 'destruction-request', text: 'Record the request' });
  ask.addEventListener('click', async () => {
    try {
      await api.post(`/v1/cases/${c.id}/destruction`, { reference: reference.value });
      reload();
    } catch (e) {
      out.replaceChildren(message(`Not recorded: ${e.message}`, 'error'));
    }
  });
  box.append(el('p', { class: 'muted', text: 'On a law-enforcement request (18 U.S.C. 2258B(c)) a case\'s evidence may be destroyed despite its holds: ' +
    'compliance records the request here, an admin key approves it (POST /v1/cases/{id}/destruction/approve).' }),
  el('div', { class: 'toolbar' }, reference, ask), out);
  return box;
}
