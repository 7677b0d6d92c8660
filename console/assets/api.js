// The catalog's own REST API, called as the signed-in principal. The
// console has no access of its own: every call carries the principal's
// bearer token (or none, where the catalog lets anonymous clients in).

const KEY = 'ice-console-token';

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); }

// ns is a list of levels; the API joins them with the unit separator 0x1F.
export function nsPath(ns) { return encodeURIComponent(ns.join('\x1f')); }
export function tablePath(ns, t) { return `/v1/namespaces/${nsPath(ns)}/tables/${encodeURIComponent(t)}`; }
export function viewPath(ns, v) { return `/v1/namespaces/${nsPath(ns)}/views/${encodeURIComponent(v)}`; }
export function mgmtTablePath(ns, t) { return `/management/v1/namespaces/${nsPath(ns)}/tables/${encodeURIComponent(t)}`; }

// Snapshot ids are 64-bit: JSON numbers beyond 2^53 are read as BigInt
// from their source text, so that ids shown and sent back are exact.
export function parse(text) {
  return JSON.parse(text, (k, v, ctx) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v);
}

export function stringify(v) {
  return JSON.stringify(v, (k, x) => typeof x === 'bigint' ? `@@bigint:${x}@@` : x).replace(/"@@bigint:(-?\d+)@@"/g, '$1');
}

export async function call(method, path, body, extraHeaders) {
  const headers = Object.assign({ Accept: 'application/json' }, extraHeaders || {});
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let payload;
  if (body !== undefined) {
    if (body instanceof URLSearchParams) {
      payload = body;
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    } else {
      payload = stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }
  const resp = await fetch(path, { method, headers, body: payload, credentials: 'omit' });
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = parse(text); } catch { data = text; }
  }
  if (!resp.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(resp.status, err.type || resp.statusText, err.message || (typeof data === 'string' ? data : resp.statusText));
  }
  return data;
}

export const get = (p) => call('GET', p);
export const post = (p, b) => call('POST', p, b);
export const del = (p) => call('DELETE', p);

// listAll follows next-page-token until limit items are read.
export async function page(path, key, pageToken, pageSize) {
  const sep = path.includes('?') ? '&' : '?';
  let p = `${path}${sep}pageSize=${pageSize}`;
  if (pageToken) p += `&pageToken=${encodeURIComponent(pageToken)}`;
  const r = await get(p);
  return { items: r[key] || [], next: r['next-page-token'] || null };
}
