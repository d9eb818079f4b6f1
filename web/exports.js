import * as api from './api.js';
import { el, message, download } from './dom.js';

export function exportsPage(main) {
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const from = el('input', { type: 'date', id: 'x-from', value: iso(new Date(today.getTime() - 30 * 864e5)) });
  const to = el('input', { type: 'date', id: 'x-to', value: iso(new Date(today.getTime() + 864e5)) });
  const format = el('select', { id: 'x-format' }, el('option', { value: 'csv', text: 'CSV' }), el('option', { value: 'json', text: 'JSON' }));
  const period = el('select', { id: 'x-period' }, ['day', 'week', 'month'].map((p) => el('option', { value: p, text: p, selected: p === 'month' })));
  const caseId = el('input', { type: 'number', id: 'x-case', min: 1, placeholder: 'case id' });
  const status = el('div', { id: 'export-status' });
  const run = (path, name) => async () => {
    try {
      const res = await api.request('GET', path, undefined, { raw: true });
      await download(res, name);
      status.replaceChildren(message(`Exported ${name}: SHA-256 ${res.headers.get('X-Export-SHA256')} (audit #${res.headers.get('X-Export-Audit-Id')}).`, 'ok'));
    } catch (e) {
      status.replaceChildren(message(`Export failed: ${e.message}`, 'error'));
    }
  };
  const q = () => `from=${from.value}&to=${to.value}&format=${format.value}`;
  const button = (id, text, fn) => el('button', { type: 'button', id, text, onclick: () => fn()() });
  main.append(el('h1', { text: 'Exports' }),
    el('p', { class: 'muted', text: 'Every export is recorded in the audit trail with its SHA-256.' }),
    el('div', { class: 'filters' }, el('label', {}, 'From', from), el('label', {}, 'To (exclusive)', to),
      el('label', {}, 'Format', format), el('label', {}, 'Period', period)),
    el('div', { class: 'toolbar' },
      button('x-cases', 'Cases', () => run(`/v1/exports/cases?${q()}`, `cases.${format.value}`)),
      button('x-events', 'Events', () => run(`/v1/exports/events?${q()}`, `events.${format.value}`)),
      button('x-aggregate', 'Aggregate', () => run(`/v1/exports/aggregate?${q()}&period=${period.value}`, `aggregate.${format.value}`))),
    el('h2', { text: 'CyberTipline package' }),
    el('div', { class: 'toolbar' }, caseId,
      button('x-package', 'Download package (tar)', () => run(`/v1/exports/cases/${Number(caseId.value)}/cybertipline`, 'package.tar')),
      button('x-report', 'report.xml', () => run(`/v1/exports/cases/${Number(caseId.value)}/cybertipline?part=report.xml`, 'report.xml'))),
    status);
}
