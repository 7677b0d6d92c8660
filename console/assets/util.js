// DOM and formatting helpers. Every text goes in through textContent, so
// nothing the catalog holds can become markup.

export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const nf = new Intl.NumberFormat('en-US');
export function num(n) { return n === undefined || n === null || n === '' ? '–' : nf.format(Number(n)); }

export function bytes(n) {
  if (n === undefined || n === null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let f = Number(n), i = 0;
  while (f >= 1024 && i < u.length - 1) { f /= 1024; i++; }
  return (Number.isInteger(f) ? f : f.toFixed(1)) + ' ' + u[i];
}

export function time(ms) {
  if (!ms) return '–';
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function table(headers, rows, attrs) {
  return h('table', attrs || {},
    h('thead', {}, h('tr', {}, headers.map(x => typeof x === 'string' ? h('th', {}, x) : x))),
    h('tbody', {}, rows));
}

export function card(k, v, id) {
  return h('div', { class: 'card' }, h('div', { class: 'v', id }, v), h('div', { class: 'k' }, k));
}

// Namespaces travel in the URL hash as their levels, each URI-encoded,
// joined by "/".
export function nsToHash(ns) { return ns.map(encodeURIComponent).join('/'); }
export function nsFromHash(s) { return s.split('/').map(decodeURIComponent); }
export function nsName(ns) { return ns.join('.'); }

// confirmBox asks the user to type name before a destructive action runs:
// the confirmation names what is about to go.
export function confirmBox(id, question, name, label, run) {
  const input = h('input', { id: id + '-confirm', placeholder: name, autocomplete: 'off' });
  const go = h('button', { class: 'danger', id: id + '-go', disabled: true, onclick: () => run() }, label);
  input.addEventListener('input', () => { go.disabled = input.value !== name; });
  const box = h('div', { class: 'actions', id: id + '-box', hidden: true },
    h('span', {}, question, ' Type ', h('code', {}, name), ' to confirm: '), input, go);
  const open = h('button', { class: 'danger', id, onclick: () => { box.hidden = false; input.focus(); } }, label + '…');
  return h('div', {}, open, box);
}
