import * as api from './api.js';
import { el, table, message, when, download } from './dom.js';

// The filters GET /v1/audit and GET /v1/exports/audit share: actor, action (a trailing * is a
// prefix), case, from, to (dates, to exclusive).
const FILTERS = ['actor', 'action', 'case', 'from', 'to'];

function filterQuery(params) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (params.get(k)) q.set(k, params.get(k));
  return q;
}

export async function auditPage(main, params) {
  const before = params.get('before');
  const filters = filterQuery(params);
  const q = new URLSearchParams(filters);
  q.set('limit', '50');
  if (before) q.set('before', before);
  const page = await api.get(`/v1/audit?${q}`);
  const verifyOut = el('div', { id: 'verify-result' });
  const verify = el('button', { type: 'button', id: 'verify', text: 'Verify the hash chain' });
  verify.addEventListener('click', async () => {
    const v = await api.get('/v1/audit/verify');
    verifyOut.replaceChildren(message(v.ok
      ? `Chain intact: ${v.rows} rows, head #${v.head_id} ${v.head_hash}`
      : `Chain broken at row #${v.first_bad}: ${v.problem}`, v.ok ? 'ok' : 'error'));
  });
  const input = (k, attrs) => el('input', { id: `audit-${k}`, value: params.get(k) || '', ...attrs });
  const fields = {
    actor: input('actor', { type: 'text', placeholder: 'key id' }),
    action: input('action', { type: 'text', placeholder: 'e.g. case.* or export' }),
    case: input('case', { type: 'number', min: 1, placeholder: 'case id' }),
    from: input('from', { type: 'date' }),
    to: input('to', { type: 'date' }),
  };
  const chosen = () => {
    const p = new URLSearchParams();
    for (const k of FILTERS) if (fields[k].value) p.set(k, fields[k].value);
    return p;
  };
  const apply = el('button', { type: 'button', id: 'audit-apply', text: 'Filter' });
  apply.addEventListener('click', () => { location.hash = `#/audit?${chosen()}`; });
  const format = el('select', { id: 'audit-format' }, el('option', { value: 'csv', text: 'CSV' }), el('option', { value: 'json', text: 'JSON' }));
  const exportOut = el('div', { id: 'audit-export-result' });
  const exp = el('button', { type: 'button', id: 'audit-export', text: 'Export these rows' });
  exp.addEventListener('click', async () => {
    const p = chosen();
    p.set('format', format.value);
    try {
      const res = await api.request('GET', `/v1/exports/audit?${p}`, undefined, { raw: true });
      await download(res, `audit.${format.value}`);
      exportOut.replaceChildren(message(`Exported audit.${format.value}: SHA-256 ${res.headers.get('X-Export-SHA256')} (audit #${res.headers.get('X-Export-Audit-Id')}).`, 'ok'));
    } catch (e) {
      exportOut.replaceChildren(message(`Export failed: ${e.message}`, 'error'));
    }
  });
  const rows = page.entries.map((e) => [e.id, when(e.at), e.actor, e.action, e.subject,
    el('code', { class: 'detail', text: e.detail })]);
  const last = page.entries.at(-1);
  const older = new URLSearchParams(filters);
  if (last) older.set('before', last.id);
  main.append(el('h1', { text: 'Audit trail' }), el('div', { class: 'toolbar' }, verify), verifyOut,
    el('div', { class: 'filters', id: 'audit-filters' },
      el('label', {}, 'Actor', fields.actor), el('label', {}, 'Action', fields.action),
      el('label', {}, 'Case', fields.case), el('label', {}, 'From', fields.from),
      el('label', {}, 'To (exclusive)', fields.to), apply),
    el('div', { class: 'toolbar' }, el('label', {}, 'Format ', format), exp), exportOut,
    table(['#', 'When', 'Actor', 'Action', 'Subject', 'Detail'], rows, 'grid audit'),
    el('div', { class: 'pager' },
      before ? el('a', { href: `#/audit?${filters}`, text: '‹ Newest' }) : null,
      last && page.next_before ? el('a', { href: `#/audit?${older}`, id: 'older', text: 'Older ›' }) : null));
}
