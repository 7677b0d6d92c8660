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

// Snapshot ids are 64-bit. JSON.parse would round those beyond 2^53, so
// integer literals of 16 digits or more (outside strings) are marked before
// parsing and turned into exact numbers after: BigInt where a Number cannot
// hold them. A plain scan finds them; a reviver, called for every value,
// made a 10,000-snapshot table's answer take a second to parse.
const BIG = '\u0001int:';
const BIG_JSON = '\\u0001int:'; // the same, escaped inside JSON text

// bigIntegers returns [start, end) pairs of the integer literals of at
// least 16 digits outside strings.
function bigIntegers(text) {
  const cuts = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) { // a string: jump to its closing quote
      let q = i;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q < 0) return cuts; // malformed: JSON.parse reports it
        let bs = 0;
        while (text.charCodeAt(q - 1 - bs) === 92) bs++;
        if (bs % 2 === 0) break;
      }
      i = q;
    } else if ((c >= 48 && c <= 57) || c === 45) { // a number token
      let j = i + 1, integer = true;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) continue;
        if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) { integer = false; continue; }
        break;
      }
      if (integer && j - i >= 16) cuts.push(i, j);
      i = j - 1;
    }
  }
  return cuts;
}

export function parse(text) {
  const cuts = bigIntegers(text);
  if (!cuts.length) return JSON.parse(text);
  const parts = [];
  let at = 0;
  for (let k = 0; k < cuts.length; k += 2) {
    parts.push(text.slice(at, cuts[k]), '"', BIG_JSON, text.slice(cuts[k], cuts[k + 1]), '"');
    at = cuts[k + 1];
  }
  parts.push(text.slice(at));
  return revive(JSON.parse(parts.join('')));
}

function revive(v) {
  if (typeof v === 'string') {
    if (!v.startsWith(BIG)) return v;
    const digits = v.slice(BIG.length), n = Number(digits);
    return Number.isSafeInteger(n) ? n : BigInt(digits);
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) v[k] = revive(v[k]);
  }
  return v;
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
