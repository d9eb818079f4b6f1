// The /v1 client: the key lives in sessionStorage (gone when the tab closes) and travels as a
// Bearer token. Nothing here touches the DOM.
const KEY = 'hashguard.key';
const ROLE = 'hashguard.role';

export function key() { return sessionStorage.getItem(KEY); }
export function role() { return sessionStorage.getItem(ROLE); }
export function signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ROLE); }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export async function request(method, path, body, { raw = false, token = key() } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let code = '', message = '';
    try {
      const e = (await res.json()).error || {};
      code = e.code || '';
      message = e.message || '';
    } catch { /* not JSON */ }
    throw new ApiError(res.status, code, message);
  }
  return raw ? res : res.json();
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);

// One key has exactly one role: find it by asking a route of each role. 401 means the key
// itself is refused.
export async function signIn(token) {
  const probes = [
    ['reviewer', '/v1/cases?limit=1'],
    ['compliance', '/v1/audit?limit=1'],
    ['admin', '/v1/index'],
  ];
  for (const [r, path] of probes) {
    try {
      await get(path, { token });
      return remember(token, r);
    } catch (e) {
      if (e.status === 401) throw e;
      // 501: the route exists and the key passed its role check, the handler is not wired.
      if (e.status === 501 || e.status === 503) return remember(token, r);
    }
  }
  throw new ApiError(403, 'forbidden', 'this key has no role that the review UI serves');
}

function remember(token, r) {
  sessionStorage.setItem(KEY, token);
  sessionStorage.setItem(ROLE, r);
  return r;
}
