import * as api from './api.js';
import { el, table, message, when } from './dom.js';

export async function auditPage(main, params) {
  const before = params.get('before');
  const page = await api.get(`/v1/audit?limit=50${before ? `&before=${encodeURIComponent(before)}` : ''}`);
  const verifyOut = el('div', { id: 'verify-result' });
  const verify = el('button', { type: 'button', id: 'verify', text: 'Verify the hash chain' });
  verify.addEventListener('click', async () => {
    const v = await api.get('/v1/audit/verify');
    verifyOut.replaceChildren(message(v.ok
      ? `Chain intact: ${v.rows} rows, head #${v.head_id} ${v.head_hash}`
      : `Chain broken at row #${v.first_bad}: ${v.problem}`, v.ok ? 'ok' : 'error'));
  });
  const rows = page.entries.map((e) => [e.id, when(e.at), e.actor, e.action, e.subject,
    el('code', { class: 'detail', text: e.detail })]);
  const last = page.entries.at(-1);
  main.append(el('h1', { text: 'Audit trail' }), el('div', { class: 'toolbar' }, verify), verifyOut,
    table(['#', 'When', 'Actor', 'Action', 'Subject', 'Detail'], rows, 'grid audit'),
    el('div', { class: 'pager' },
      before ? el('a', { href: '#/audit', text: '‹ Newest' }) : null,
      last && page.entries.length === 50 ? el('a', { href: `#/audit?before=${last.id}`, id: 'older', text: 'Older ›' }) : null));
}
