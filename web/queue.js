import * as api from './api.js';
import { el, table, message, when } from './dom.js';

const STATUSES = ['open', 'disputed', 'escalated', 'confirmed', 'false_positive', 'reported'];
// A case you have not decided yet shows as `needs_review` (blind review: server-side).
const statusText = (s) => (s === 'needs_review' ? 'needs review' : s);

export async function queuePage(main, params) {
  const q = {
    status: params.get('status') ?? 'open',
    zone: params.get('zone') ?? '',
    list: params.get('list') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    limit: Number(params.get('limit') || 25),
    offset: Number(params.get('offset') || 0),
  };
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== '' && v !== null) search.set(k, v);
  const page = await api.get(`/v1/cases?${search}`);

  const go = (changes) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...q, ...changes })) if (v !== '' && v !== null) next.set(k, v);
    location.hash = `#/queue?${next}`;
  };

  const field = (name, label, type = 'text') =>
    el('label', {}, label, el('input', { name, type, value: q[name], id: `f-${name}` }));
  const statusSelect = el('select', { name: 'status', id: 'f-status' },
    el('option', { value: '', text: 'any status' }),
    STATUSES.map((s) => el('option', { value: s, text: s, selected: s === q.status })));
  const filters = el('form', { class: 'filters', id: 'filters' },
    el('label', {}, 'Status', statusSelect), field('zone', 'Zone'), field('list', 'List id'),
    field('from', 'From', 'date'), field('to', 'To', 'date'),
    el('button', { type: 'submit', text: 'Filter' }));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(filters);
    go({ status: f.get('status'), zone: f.get('zone'), list: f.get('list'), from: f.get('from'),
      to: f.get('to'), offset: 0 });
  });

  const counts = el('ul', { class: 'counts', id: 'counts' },
    STATUSES.map((s) => el('li', {}, el('a', {
      href: '#', class: s === q.status ? 'current' : '',
      onclick: (ev) => { ev.preventDefault(); go({ status: s, offset: 0 }); },
    }, `${s.replace('_', ' ')} `, el('span', { class: 'badge', text: page.by_status[s] ?? 0 })))));

  const rows = page.cases.map((c) => [
    el('a', { href: `#/case/${c.id}`, text: `#${c.id}` }),
    c.zone, c.harm_type, el('span', { class: `status ${c.status}`, text: statusText(c.status) }), c.sightings, c.files,
    when(c.first_seen), when(c.last_seen), c.classification ?? '',
    c.required_confirmations > 1 ? 'two-person' : '',
  ]);
  const first = page.total === 0 ? 0 : q.offset + 1;
  const last = q.offset + page.cases.length;
  const pager = el('div', { class: 'pager' },
    el('button', { type: 'button', id: 'prev', disabled: q.offset === 0,
      onclick: () => go({ offset: Math.max(0, q.offset - q.limit) }), text: '‹ Newer' }),
    el('span', { id: 'range', text: `${first}–${last} of ${page.total}` }),
    el('button', { type: 'button', id: 'next', disabled: last >= page.total,
      onclick: () => go({ offset: q.offset + q.limit }), text: 'Older ›' }));

  main.append(el('h1', { text: 'Review queue' }), counts, filters,
    page.cases.length === 0 ? message('No cases match these filters.')
      : table(['Case', 'Zone', 'Harm', 'Status', 'Sightings', 'Files', 'First seen', 'Last seen', 'Class', 'Rule'], rows, 'grid queue'),
    pager);
}
