import * as api from './api.js';
import { el, table, dl, message, when } from './dom.js';

const CLASSES = [
  ['A1', 'A1 — prepubescent minor, sex act'],
  ['A2', 'A2 — prepubescent minor, lascivious exhibition'],
  ['B1', 'B1 — pubescent minor, sex act'],
  ['B2', 'B2 — pubescent minor, lascivious exhibition'],
];

// The outcome of the last decision, shown once after the page reloads with the new state.
let flash = null;

// A case you have not decided yet is `needs_review` (the server hides earlier decisions).
const statusText = (s) => (s === 'needs_review' ? 'needs review' : s.replace('_', ' '));

export async function casePage(main, id) {
  const d = await api.get(`/v1/cases/${encodeURIComponent(id)}`);
  const c = d.case;
  main.append(el('p', {}, el('a', { href: '#/queue', text: '‹ Back to the queue' })));
  if (flash && flash.caseId === c.id) main.append(el('div', { id: 'flash' }, message(flash.text, 'ok')));
  flash = null;
  main.append(el('h1', { id: 'case-title', text: `Case #${c.id}` }));
  // A near-miss matched only in a list's review band (above its threshold): it never blocked,
  // and the reviewer decides whether it is the known item at all.
  if (c.near_miss) {
    main.append(el('div', { id: 'case-near-miss', class: 'near-miss' }, message(
      `Near-miss: matched only in a list's review band, at distance ${c.near_miss_distance} ` +
      '(above the list\'s threshold). It was never blocked; confirm only if it is the known item.')));
  }
  main.append(dl([
    ['Zone', el('span', { id: 'case-zone', text: c.zone })],
    // csam, ncii (StopNCII) or tvec (GIFCT): only csam carries a classification or is reported.
    ['Harm type', el('span', { id: 'case-harm-type', class: `harm ${c.harm_type}`, text: c.harm_type })],
    ['Status', el('span', { id: 'case-status', class: `status ${c.status}`, text: statusText(c.status) })],
    ['Sightings', c.sightings], ['Files', c.files],
    ['First seen', when(c.first_seen)], ['Last seen', when(c.last_seen)],
    ['Classification', c.classification ?? '—'],
    ['Reported', when(c.reported_at)], ['Preserve until', when(c.preserve_until)],
    ['Legal hold', c.legal_hold ? 'yes' : 'no'],
  ]));
  main.append(twoPersonPanel(d));

  // What matched: every list entry the case covers, then one row per distinct hit among the
  // sightings shown (a page of the newest; a hot case has far more than a page).
  // Source: the exchange that listed the entry and its id there (none for an imported list).
  const source = (s) => (s ? `${s.exchange}: ${s.source_id}` : '');
  main.append(el('h2', { text: 'Known items' }),
    table(['List', 'Entry', 'Source'], d.entries.map((x) => [x.list_name || `list ${x.list_id}`,
      `${x.entry_id}${x.external_id ? ` (${x.external_id})` : ''}`, source(x.source)]), 'grid entries'));
  const seen = new Set();
  const matchRows = [];
  for (const e of d.events) {
    for (const h of e.hits) {
      const k = `${h.list_id}/${h.entry_id}/${h.signal}/${h.distance}/${h.list_version}/${h.variant}`;
      if (seen.has(k)) continue;
      seen.add(k);
      matchRows.push([h.list_name || `list ${h.list_id}`, `${h.entry_id}${h.external_id ? ` (${h.external_id})` : ''}`,
        source(h.source), h.signal, h.distance > h.threshold ? `${h.distance} (review band)` : h.distance,
        h.threshold, h.list_version, h.variant, h.action]);
    }
  }
  main.append(el('h2', { text: 'Matches' }),
    el('p', { class: 'muted', text: `In the ${d.events.length} newest of ${d.events_total} sightings.` }),
    table(['List', 'Entry', 'Source', 'Signal', 'Distance', 'Threshold', 'List version', 'Variant', 'Action'], matchRows, 'grid matches'));

  main.append(el('h2', { text: 'Files' }));
  d.files.forEach((f, i) => main.append(fileCard(c.id, f, i)));

  main.append(el('h2', { text: 'Sightings' }), sightings(c.id, d));

  main.append(el('h2', { text: 'Decision history' }),
    d.review.blind ? message('Hidden until you record your own decision (blind review).')
      : d.decisions.length === 0 ? message('No decisions yet.')
      : table(['When', 'Reviewer', 'Decision', 'Classification', 'Note'],
        d.decisions.map((x) => [when(x.decided_at), x.reviewer, x.decision, x.classification ?? '', x.note]),
        'grid decisions'));

  if (d.reports.length > 0) {
    main.append(el('h2', { text: 'CyberTipline submissions' }),
      table(['Report id', 'Environment', 'Submitted', 'Finished', 'File ids'],
        d.reports.map((r) => [r.report_id, r.environment, when(r.submitted_at), when(r.finished_at), r.file_ids.join(', ')])));
  }
  // The outcome sent back to the exchanges the case's entries came from (never the content).
  if ((d.feedback ?? []).length > 0) {
    main.append(el('h2', { text: 'Feedback to exchanges' }),
      table(['Exchange', 'Source id', 'Signal', 'Outcome', 'Status', 'Attempts', 'Sent', 'Last error'],
        d.feedback.map((f) => [f.exchange, f.source_id, f.signal, f.outcome.replace('_', ' '),
          f.status === 'pending' && f.next_attempt_at ? `pending (next ${when(f.next_attempt_at)})` : f.status,
          f.attempts, when(f.sent_at), f.last_error]), 'grid feedback'));
  }
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  // One state, one action: a decision form only while you may decide, a reopen request only
  // on a decided case.
  if (d.review.can_decide) main.append(decisionForm(c, reload));
  else if (d.review.can_reopen) main.append(reopenForm(c, reload));
}

function twoPersonPanel(d) {
  const c = d.case;
  const r = d.review;
  const need = c.required_confirmations;
  const who = need < 2 ? 'one reviewer decides' : `${need} different reviewers must agree`;
  let text;
  if (r.blind) {
    text = `Blind review (${who}): record your own decision; earlier decisions on this case stay hidden until you do.`;
  } else if (c.status === 'reported') {
    text = 'Decided and reported: final.';
  } else if (r.locked) {
    text = `Decided (${who}): final. Changing it needs a reopen requested by ${Math.max(2, need)} reviewers who did not decide it.`;
  } else if (c.status === 'disputed') {
    text = `Disputed: reviewers disagree (${d.confirmations} confirmed, ${dismissals(d)} dismissed). One more reviewer or an admin decides.`;
  } else {
    text = `Your decision is recorded (${who}): waiting for another reviewer (${d.confirmations} confirmed, ${dismissals(d)} dismissed).`;
  }
  return el('p', { id: 'two-person', class: 'rule', text });
}

function dismissals(d) {
  return d.decisions.filter((x) => x.decision === 'false_positive').length;
}

function reopenForm(c, reload) {
  const status = el('div', { id: 'reopen-status' });
  const reason = el('textarea', { name: 'reason', id: 'reopen-reason', rows: 2, required: true, placeholder: 'Why this decision should be reviewed again (required)' });
  const submit = el('button', { type: 'submit', id: 'reopen', text: 'Request reopen' });
  const form = el('form', { id: 'reopen-form', class: 'card', novalidate: true },
    el('h2', { text: 'Request a reopen' }),
    el('p', { class: 'muted', text: 'This case is decided. Reviewers who did not decide it may ask to reopen it; it reopens when enough have asked. Every request is audited.' }),
    el('label', { for: 'reopen-reason', text: 'Reason' }), reason, submit, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = String(reason.value || '').trim();
    if (!text) { status.replaceChildren(message('A reason is required.', 'error')); return; }
    submit.disabled = true;
    try {
      const r = await api.post(`/v1/cases/${c.id}/reopen`, { reason: text });
      flash = { caseId: c.id, text: r.reopened ? 'Reopened: the case is under review again.' : `Reopen requested (${r.requests} of ${r.needed}).` };
      reload();
    } catch (e) {
      submit.disabled = false;
      status.replaceChildren(message(e.status === 409 ? `Refused: ${e.message}` : `Error: ${e.message}`, 'error'));
    }
  });
  return form;
}

const sightingRow = (e) => [when(e.occurred_at), e.zone,
  el('span', {}, el('span', { class: 'url', text: e.source_url }),
    e.source_url_truncated ? el('em', { class: 'truncated', text: ' (truncated)' }) : null),
  e.request_id, e.node, el('code', { text: e.sha256 })];

// The newest page of sightings, their count, and a button that pages back (`before`).
function sightings(caseId, d) {
  const grid = table(['When', 'Zone', 'URL', 'Request', 'Node', 'SHA-256'], d.events.map(sightingRow), 'grid sightings');
  const shown = el('p', { id: 'sightings-count', class: 'muted' });
  const box = el('div', {}, shown, grid);
  let count = d.events.length;
  let next = d.next_before;
  const more = el('button', { type: 'button', id: 'older-sightings', text: 'Older sightings' });
  const update = () => {
    shown.textContent = `Showing the ${count} newest of ${d.events_total} sightings.`;
    more.hidden = !next;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await api.get(`/v1/cases/${encodeURIComponent(caseId)}?before=${encodeURIComponent(next)}`);
      const body = grid.querySelector('tbody');
      for (const row of table([], page.events.map(sightingRow)).querySelectorAll('tbody tr')) body.append(row);
      count += page.events.length;
      next = page.next_before;
      update();
    } catch (e) {
      box.append(message(`Could not load older sightings: ${e.message}`, 'error'));
    } finally {
      more.disabled = false;
    }
  });
  update();
  box.append(more);
  return box;
}

function fileCard(caseId, f, i) {
  const viewed = f.viewed_by_esp ? `yes (${f.viewed_by}, ${when(f.viewed_at)})` : 'no';
  const card = el('section', { class: 'file card' },
    el('h3', { text: `File ${i + 1}` }),
    dl([
      ['MD5', el('code', { text: f.md5 || '—' })], ['SHA-1', el('code', { text: f.sha1 || '—' })],
      ['SHA-256', el('code', { text: f.sha256 || '—' })], ['PDQ', el('code', { text: f.pdq || '—' })],
      ['pHash', el('code', { text: f.phash || '—' })], ['Sightings', f.sightings],
      ['Viewed by provider', el('span', { class: 'viewed', text: viewed })],
    ]),
    el('h4', { text: 'Seen at' }),
    el('ul', { class: 'urls' }, f.urls.map((u) => el('li', { class: 'url', text: u }))));
  // The list is capped: say so, and where the file was first seen.
  if (f.urls_total > f.urls.length) {
    card.append(el('p', { class: 'muted urls-capped', text: `The ${f.urls.length} most recently seen of ${f.urls_total} distinct URLs.` }));
  }
  if (f.first_url && !f.urls.includes(f.first_url)) {
    card.append(el('p', { class: 'muted' }, 'First seen at ', el('span', { class: 'url', text: f.first_url })));
  }
  if (!f.evidence_preserved) {
    card.append(el('p', { class: 'muted', text: 'No image is kept for this file (evidence preservation is off or the content was not preserved).' }));
    return card;
  }
  const frame = el('div', { class: 'evidence-frame' },
    el('p', { class: 'muted', text: 'Preserved evidence is hidden. A blurred preview is a coarse mosaic drawn by the server (audited, not a view). Revealing the original shows it unblurred, records an audit entry and marks the file as viewed by you and by the provider.' }));
  const target = `/v1/cases/${caseId}/files/${f.content}/reveal`;
  const load = el('button', { type: 'button', class: 'reveal', text: 'Load blurred preview (audited)' });
  const original = el('button', { type: 'button', class: 'reveal-original', text: 'Reveal original (audited, marks viewed)' });
  load.addEventListener('click', async () => {
    load.disabled = true;
    try {
      const m = await api.post(target, { purpose: 'review', view: 'preview' });
      frame.replaceChildren(mosaicCanvas(m), original);
    } catch (e) {
      load.disabled = false;
      frame.append(message(`Could not load the preview: ${e.message}`, 'error'));
    }
  });
  original.addEventListener('click', async () => {
    original.disabled = true;
    try {
      const res = await api.request('POST', target, { purpose: 'review', view: 'original' }, { raw: true });
      const img = el('img', { class: 'evidence', alt: 'preserved evidence (original)', src: URL.createObjectURL(await res.blob()) });
      frame.replaceChildren(img);
    } catch (e) {
      original.disabled = false;
      frame.append(message(`Could not reveal the evidence: ${e.message}`, 'error'));
    }
  });
  frame.append(load, original);
  card.append(frame);
  return card;
}

// The server's mosaic ({columns, rows, rgb}), one pixel per cell, scaled up and blurred.
function mosaicCanvas(m) {
  const canvas = el('canvas', { class: 'evidence blurred', width: m.columns, height: m.rows, 'aria-label': 'blurred preview' });
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(m.columns, m.rows);
  for (let i = 0; i < m.columns * m.rows; i += 1) {
    img.data.set([m.rgb[3 * i], m.rgb[3 * i + 1], m.rgb[3 * i + 2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

function decisionForm(c, reload) {
  const status = el('div', { id: 'decision-status' });
  const cls = el('select', { name: 'classification', id: 'classification' },
    el('option', { value: '', text: 'choose…' }), CLASSES.map(([v, t]) => el('option', { value: v, text: t })));
  const radio = (value, label, checked) => el('label', { class: 'choice' },
    el('input', { type: 'radio', name: 'decision', value, checked, id: `d-${value}` }), ` ${label}`);
  const note = el('textarea', { name: 'note', id: 'note', rows: 3, required: true, placeholder: 'Why (required)' });
  const suppress = el('label', { class: 'choice' }, el('input', { type: 'checkbox', name: 'suppress', id: 'suppress' }),
    ' stop matching this content (suppress)');
  const submit = el('button', { type: 'submit', id: 'decide', text: 'Record decision' });
  const form = el('form', { id: 'decision', class: 'card', novalidate: true },
    el('h2', { text: 'Decide' }),
    el('fieldset', {}, el('legend', { text: 'Decision' }),
      radio('confirmed', 'Confirm', true), radio('false_positive', 'False positive', false),
      radio('escalated', 'Escalate', false)),
    el('label', { for: 'classification', text: 'Industry classification (required to confirm)' }), cls,
    el('label', { for: 'note', text: 'Note' }), note, suppress,
    submit, status);
  // Only a csam case carries an A1-B2 classification: an ncii or tvec one is confirmed without.
  const classified = c.harm_type === 'csam';
  if (!classified) {
    cls.hidden = true;
    form.querySelector('label[for="classification"]').textContent =
      `No industry classification: this is a ${c.harm_type} case`;
  }
  const sync = () => {
    const kind = new FormData(form).get('decision');
    cls.required = classified && kind === 'confirmed';
    cls.disabled = !classified || kind !== 'confirmed';
    suppress.hidden = kind !== 'false_positive';
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { decision: f.get('decision'), note: String(f.get('note') || '').trim() };
    if (!body.note) { status.replaceChildren(message('A note is required.', 'error')); return; }
    if (body.decision === 'confirmed' && classified) {
      if (!f.get('classification')) { status.replaceChildren(message('Choose A1, A2, B1 or B2 to confirm.', 'error')); return; }
      body.classification = f.get('classification');
    }
    if (body.decision === 'false_positive') body.suppress = f.get('suppress') === 'on';
    // One request at a time: a second click while this one is in flight does nothing.
    if (submit.disabled) return;
    submit.disabled = true;
    status.replaceChildren(message('Recording…'));
    try {
      const r = await api.post(`/v1/cases/${c.id}/decision`, body);
      flash = { caseId: c.id, text: `Recorded: the case is now ${statusText(r.status)} (${r.confirmations} confirmation${r.confirmations === 1 ? '' : 's'}, ${r.dismissals} dismissal${r.dismissals === 1 ? '' : 's'}).` };
      reload();
    } catch (e) {
      submit.disabled = false;
      status.replaceChildren(message(e.status === 409 ? `Refused: ${e.message}` : `Error: ${e.message}`, 'error'));
    }
  });
  return form;
}
