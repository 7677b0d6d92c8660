// The Catalog page (namespace tree with counts, recent commits) and the
// Namespace page (tables, views, properties, paging).

import { get, post, del, nsPath, page } from './api.js';
import { h, num, time, table, nsToHash, nsFromHash, nsName, confirmBox } from './util.js';
import { whoami, can, action, show } from './app.js';

async function summary(ns) {
  try {
    return await get(`/management/v1/namespaces/${nsPath(ns)}/summary`);
  } catch {
    return null; // a namespace the principal may list but not read
  }
}

function countText(s) {
  if (!s) return '';
  const cap = n => (n >= s.limit ? '≥ ' : '') + num(n);
  return `${cap(s.tables)} tables · ${cap(s.views)} views${s.namespaces ? ' · ' + cap(s.namespaces) + ' namespaces' : ''}`;
}

// treeLevel lists the children of parent (nil: the top), each with its
// counts, and lets the user open the next level.
async function treeLevel(parent) {
  const q = parent ? '?parent=' + nsPath(parent) : '';
  const { items, next } = await page('/v1/namespaces' + q, 'namespaces', null, 200);
  const sums = await Promise.all(items.map(summary));
  const ul = h('ul', {});
  items.forEach((ns, i) => {
    const li = h('li', { 'data-ns': nsName(ns) },
      h('a', { href: '#/ns/' + nsToHash(ns) }, ns[ns.length - 1]),
      h('span', { class: 'count', 'data-counts': nsName(ns) }, countText(sums[i])));
    if (sums[i] && sums[i].namespaces > 0) {
      const btn = h('button', { class: 'expand', onclick: async () => {
        btn.disabled = true;
        try { li.append(await treeLevel(ns)); btn.remove(); } catch (e) { show(e); btn.disabled = false; }
      } }, '+');
      li.prepend(btn, ' ');
    }
    ul.append(li);
  });
  if (next) ul.append(h('li', { class: 'muted' }, 'More namespaces: open the parent to page through them.'));
  if (!items.length) ul.append(h('li', { class: 'muted' }, 'No namespaces.'));
  return ul;
}

export async function catalogPage() {
  const [me, tree, commits] = await Promise.all([whoami(), treeLevel(null), get('/management/v1/commits?limit=20')]);
  const out = h('div', {}, h('h1', {}, 'Catalog'));
  if (can(me.catalog, 'admin')) {
    const name = h('input', { id: 'new-namespace', placeholder: 'name, e.g. sales or sales.eu' });
    out.append(h('form', { class: 'inline', id: 'create-namespace', onsubmit: ev => {
      ev.preventDefault();
      action('Create namespace', () => post('/v1/namespaces', { namespace: name.value.split('.').filter(Boolean), properties: {} }), rerender);
    } }, name, h('button', { type: 'submit' }, 'Create namespace')));
  }
  out.append(h('h2', {}, 'Namespaces'), h('div', { class: 'tree', id: 'namespace-tree' }, tree));
  out.append(h('h2', {}, 'Recent commits'));
  out.append(table(['When', 'Table', 'Snapshot', 'Operation', 'Rows added', 'Files added'],
    commits.commits.map(c => h('tr', { 'data-snapshot': c['snapshotId'] },
      h('td', {}, time(c.timestampMs)),
      h('td', {}, h('a', { href: `#/table/${nsToHash(c.namespace)}/t/${encodeURIComponent(c.name)}` }, c.table)),
      h('td', { class: 'mono' }, String(c.snapshotId)), h('td', {}, c.operation),
      h('td', { class: 'num' }, num(c.addedRows)), h('td', { class: 'num' }, num(c.addedFiles)))), { id: 'recent-commits' }));
  if (commits.truncated) out.append(h('p', { class: 'muted' }, `Read the first ${num(commits.tablesRead)} tables only.`));
  return out;
}

async function rerender() { window.dispatchEvent(new HashChangeEvent('hashchange')); }

const PAGE = 100;

// pagedList shows one page of a list, with next and previous.
function pagedList(path, key, id, row) {
  const body = h('tbody', {});
  const info = h('span', { class: 'muted' });
  const prev = h('button', { disabled: true }, '← Previous');
  const next = h('button', { disabled: true, 'data-next': id }, 'Next →');
  const tokens = [null];
  let at = 0;
  async function load() {
    try {
      const r = await page(path, key, tokens[at], PAGE);
      body.replaceChildren(...r.items.map(row));
      if (!r.items.length) body.append(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'None.')));
      tokens[at + 1] = r.next;
      prev.disabled = at === 0;
      next.disabled = !r.next;
      info.textContent = `page ${at + 1}`;
    } catch (e) { show(e); }
  }
  prev.addEventListener('click', () => { at--; load(); });
  next.addEventListener('click', () => { at++; load(); });
  const node = h('div', {}, h('table', { id }, body), h('div', { class: 'pager' }, prev, next, info));
  return { node, load };
}

export async function namespacePage(hashNs) {
  const ns = nsFromHash(hashNs);
  const [nsInfo, me, sum] = await Promise.all([get(`/v1/namespaces/${nsPath(ns)}`), whoami(ns), summary(ns)]);
  const canWrite = can(me.namespace, 'write');
  const canDrop = ns.length === 1 ? can(me.namespace, 'admin') : canWrite;
  const out = h('div', {}, h('h1', {}, 'Namespace ', h('span', { id: 'ns-name' }, nsName(ns))));
  out.append(h('p', { class: 'muted', id: 'ns-counts' }, countText(sum)));
  if (ns.length > 1) out.append(h('p', {}, h('a', { href: '#/ns/' + nsToHash(ns.slice(0, -1)) }, '↑ ' + nsName(ns.slice(0, -1)))));

  const tables = pagedList(`/v1/namespaces/${nsPath(ns)}/tables`, 'identifiers', 'tables', id =>
    h('tr', { 'data-table': id.name }, h('td', {}, h('a', { href: `#/table/${nsToHash(ns)}/t/${encodeURIComponent(id.name)}` }, id.name))));
  const views = pagedList(`/v1/namespaces/${nsPath(ns)}/views`, 'identifiers', 'views', id =>
    h('tr', { 'data-view': id.name }, h('td', {}, h('a', { href: `#/view/${nsToHash(ns)}/v/${encodeURIComponent(id.name)}` }, id.name))));
  const children = await page(`/v1/namespaces?parent=${nsPath(ns)}`, 'namespaces', null, 200);
  const [deleted] = await Promise.all([get(`/management/v1/namespaces/${nsPath(ns)}/deleted`), tables.load(), views.load()]);

  out.append(h('h2', {}, 'Tables'), tables.node, h('h2', {}, 'Views'), views.node);
  out.append(h('h2', {}, 'Dropped'), deletedList(ns, deleted.deleted || [], canWrite));
  if (children.items.length) {
    out.append(h('h2', {}, 'Namespaces'), h('ul', { id: 'child-namespaces' },
      children.items.map(c => h('li', {}, h('a', { href: '#/ns/' + nsToHash(c) }, nsName(c))))));
  }
  out.append(h('h2', {}, 'Properties'));
  const props = nsInfo.properties || {};
  out.append(table(['Key', 'Value', ''], Object.keys(props).sort().map(k => h('tr', { 'data-prop': k },
    h('td', { class: 'mono' }, k), h('td', { class: 'mono' }, props[k]),
    h('td', {}, canWrite ? h('button', { class: 'remove-prop', onclick: () => action('Remove property ' + k,
      () => post(`/v1/namespaces/${nsPath(ns)}/properties`, { removals: [k], updates: {} }), rerender) }, 'Remove') : ''))), { id: 'ns-properties' }));
  if (canWrite) {
    const k = h('input', { id: 'prop-key', placeholder: 'key' }), v = h('input', { id: 'prop-value', placeholder: 'value' });
    out.append(h('form', { class: 'inline', id: 'set-property', onsubmit: ev => {
      ev.preventDefault();
      action('Set property ' + k.value, () => post(`/v1/namespaces/${nsPath(ns)}/properties`, { removals: [], updates: { [k.value]: v.value } }), rerender);
    } }, k, v, h('button', { type: 'submit' }, 'Set property')));
    const child = h('input', { id: 'child-name', placeholder: 'child namespace' });
    out.append(h('h2', {}, 'Actions'), h('form', { class: 'inline', id: 'create-child', onsubmit: ev => {
      ev.preventDefault();
      action('Create namespace', () => post('/v1/namespaces', { namespace: [...ns, child.value], properties: {} }), rerender);
    } }, child, h('button', { type: 'submit' }, 'Create namespace')));
  }
  if (canDrop) {
    out.append(confirmBox('drop-namespace', `Drop namespace ${nsName(ns)}? It must be empty.`, nsName(ns), 'Drop namespace', () =>
      action('Drop namespace', async () => {
        await del(`/v1/namespaces/${nsPath(ns)}`);
        location.hash = ns.length > 1 ? '#/ns/' + nsToHash(ns.slice(0, -1)) : '#/';
      })));
  }
  return out;
}


// deletedList shows the namespace's soft-dropped tables and views
// (docs/events.md, "Undrop"); a principal with write on the namespace may
// undrop each, under its name or, when that is taken, a new one.
function deletedList(ns, list, canWrite) {
  if (!list.length) return h('p', { class: 'muted', id: 'deleted-none' }, 'No dropped tables or views kept for undrop.');
  return table(['Name', 'Kind', 'Dropped', 'By', 'Kept until', 'Metadata', ''], list.map(d => {
    let cell = '';
    if (canWrite) {
      const name = h('input', { class: 'undrop-name', placeholder: 'new name (optional)', 'aria-label': 'new name' });
      cell = h('form', { class: 'inline', onsubmit: ev => {
        ev.preventDefault();
        const body = name.value.trim() ? { name: name.value.trim() } : {};
        action(`Undrop ${nsName(ns)}.${d.name}`, () => post(`/management/v1/namespaces/${nsPath(ns)}/deleted/${encodeURIComponent(d.id)}/undrop`, body), rerender);
      } }, name, h('button', { type: 'submit', class: 'undrop' }, 'Undrop'));
    }
    return h('tr', { 'data-deleted': d.id, 'data-deleted-name': d.name },
      h('td', {}, d.name), h('td', {}, d.kind), h('td', {}, time(Date.parse(d['dropped-at']))),
      h('td', {}, d.principal || '–'), h('td', {}, time(Date.parse(d['retain-until']))),
      h('td', { class: 'mono metadata-location' }, d['metadata-location']), h('td', {}, cell));
  }), { id: 'deleted' });
}
