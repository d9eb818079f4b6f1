// DOM helpers. Every piece of text goes in through textContent (never innerHTML), so a URL or
// zone holding markup is shown as text and never parsed.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function table(columns, rows, className = 'grid') {
  return el('table', { class: className },
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { text: c })))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((cell) =>
      el('td', {}, cell instanceof Node ? cell : String(cell ?? '')))))));
}

export function dl(pairs) {
  return el('dl', { class: 'facts' },
    pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : String(v ?? '—'))]));
}

export function message(text, kind = 'info') {
  return el('p', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
}

export function when(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—';
}

// Downloads a fetch Response as a file (the export routes need the Bearer header, so a plain
// link cannot fetch them).
export async function download(res, fallbackName) {
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]+)"/.exec(cd);
  const a = el('a', { href: URL.createObjectURL(blob), download: m ? m[1] : fallbackName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
