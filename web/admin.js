import * as api from './api.js';
import { el, table, message } from './dom.js';

// Lists and the snapshot, shown generically: whatever fields the routes return.
async function section(title, path, pick) {
  const out = [el('h2', { text: title })];
  try {
    const data = await api.get(path);
    const rows = pick(data);
    if (Array.isArray(rows)) {
      const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      out.push(rows.length ? table(cols, rows.map((r) => cols.map((c) => (typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c])))) : message('None.'));
    } else {
      out.push(table(['Field', 'Value'], Object.entries(rows).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v])));
    }
  } catch (e) {
    out.push(message(e.status === 501 ? `${path} is not available on this build.` : `Error: ${e.message}`, e.status === 501 ? 'info' : 'error'));
  }
  return out;
}

export async function adminPage(main) {
  main.append(el('h1', { text: 'Lists and snapshot' }),
    ...(await section('Hash lists', '/v1/lists', (d) => d.lists ?? d)),
    ...(await section('Index snapshot', '/v1/index', (d) => d)));
}
