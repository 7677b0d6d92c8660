// The Table page: everything loadTable answers (schema and its history,
// specs, sort orders, properties, refs, snapshots, metadata log), plus the
// management endpoints' file stats, file pages, health advice and
// maintenance runs.

import { get, post, del, tablePath, mgmtTablePath } from './api.js';
import { h, num, bytes, time, table, card, nsFromHash, nsName, nsToHash, confirmBox } from './util.js';
import { timeline, histogram, partitionBars, opLegend } from './charts.js';
import { whoami, can, action, show } from './app.js';

function typeName(t) {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') return 'struct';
  if (t.type === 'list') return `list<${typeName(t.element)}>`;
  if (t.type === 'map') return `map<${typeName(t.key)}, ${typeName(t.value)}>`;
  return JSON.stringify(t);
}

// flatten lists a schema's fields, nested ones with dotted names.
function flatten(fields, prefix = '', out = []) {
  for (const f of fields || []) {
    out.push({ id: f.id, name: prefix + f.name, type: typeName(f.type), required: !!f.required, doc: f.doc || '' });
    const t = f.type;
    if (t && t.type === 'struct') flatten(t.fields, prefix + f.name + '.', out);
    if (t && t.type === 'list' && t.element && t.element.type === 'struct') flatten(t.element.fields, prefix + f.name + '.element.', out);
    if (t && t.type === 'map' && t.value && t.value.type === 'struct') flatten(t.value.fields, prefix + f.name + '.value.', out);
  }
  return out;
}

function schemaTable(schema, id) {
  return table(['Id', 'Name', 'Type', 'Required', 'Doc'], flatten(schema.fields).map(f =>
    h('tr', { 'data-field-id': f.id, 'data-field': f.name }, h('td', { class: 'num' }, f.id), h('td', { class: 'mono' }, f.name),
      h('td', { class: 'mono' }, f.type), h('td', {}, f.required ? 'required' : 'optional'), h('td', {}, f.doc))), { id });
}

// diff compares two schema versions field by field id.
function schemaDiff(a, b) {
  const fa = new Map(flatten(a.fields).map(f => [f.id, f])), fb = new Map(flatten(b.fields).map(f => [f.id, f]));
  const rows = [];
  for (const [id, f] of fb) {
    const o = fa.get(id);
    if (!o) { rows.push(h('tr', { class: 'diff-added', 'data-diff': 'added' }, h('td', {}, id), h('td', {}, 'added'), h('td', { class: 'mono' }, `${f.name} ${f.type} ${f.required ? 'required' : 'optional'}`))); continue; }
    const ch = [];
    if (o.name !== f.name) ch.push(`renamed ${o.name} → ${f.name}`);
    if (o.type !== f.type) ch.push(`type ${o.type} → ${f.type}`);
    if (o.required !== f.required) ch.push(f.required ? 'now required' : 'now optional');
    if (o.doc !== f.doc) ch.push(`doc "${o.doc}" → "${f.doc}"`);
    if (ch.length) rows.push(h('tr', { class: 'diff-changed', 'data-diff': 'changed' }, h('td', {}, id), h('td', {}, 'changed'), h('td', { class: 'mono' }, `${f.name}: ${ch.join('; ')}`)));
  }
  for (const [id, o] of fa) {
    if (!fb.has(id)) rows.push(h('tr', { class: 'diff-removed', 'data-diff': 'removed' }, h('td', {}, id), h('td', {}, 'removed'), h('td', { class: 'mono' }, `${o.name} ${o.type}`)));
  }
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No difference.')));
  return table(['Field id', 'Change', 'Field'], rows, { id: 'schema-diff' });
}

function schemaSection(md) {
  const schemas = md.schemas || [];
  const byId = new Map(schemas.map(s => [s['schema-id'], s]));
  const cur = md['current-schema-id'];
  const opt = sel => schemas.map(s => h('option', { value: s['schema-id'], selected: s['schema-id'] === sel }, `schema ${s['schema-id']}${s['schema-id'] === cur ? ' (current)' : ''}`));
  const view = h('div', {}, schemaTable(byId.get(cur) || schemas[0], 'schema-fields'));
  const pick = h('select', { id: 'schema-version', onchange: () => view.replaceChildren(schemaTable(byId.get(Number(pick.value)), 'schema-fields')) }, opt(cur));
  const from = h('select', { id: 'diff-from' }, opt(schemas.length > 1 ? schemas[schemas.length - 2]['schema-id'] : cur));
  const to = h('select', { id: 'diff-to' }, opt(cur));
  const diffOut = h('div', {});
  const doDiff = () => diffOut.replaceChildren(schemaDiff(byId.get(Number(from.value)), byId.get(Number(to.value))));
  from.addEventListener('change', doDiff);
  to.addEventListener('change', doDiff);
  doDiff();
  return [h('h2', {}, 'Schema'), h('div', { class: 'actions' }, 'Version ', pick), view,
    h('h3', {}, 'Difference between two versions'), h('div', { class: 'actions' }, from, ' → ', to), diffOut];
}

function specsSection(md) {
  const schema = (md.schemas || []).find(s => s['schema-id'] === md['current-schema-id']) || { fields: [] };
  const names = new Map(flatten(schema.fields).map(f => [f.id, f.name]));
  const specs = (md['partition-specs'] || []).map(s => h('tr', { 'data-spec-id': s['spec-id'] },
    h('td', {}, s['spec-id'] + (s['spec-id'] === md['default-spec-id'] ? ' (default)' : '')),
    h('td', { class: 'mono' }, s.fields.length ? s.fields.map(f => `${f.name}: ${f.transform}(${names.get(f['source-id']) || f['source-id']})`).join(', ') : 'unpartitioned')));
  const orders = (md['sort-orders'] || []).map(o => h('tr', { 'data-order-id': o['order-id'] },
    h('td', {}, o['order-id'] + (o['order-id'] === md['default-sort-order-id'] ? ' (default)' : '')),
    h('td', { class: 'mono' }, o.fields.length ? o.fields.map(f => `${f.transform}(${names.get(f['source-id']) || f['source-id']}) ${f.direction} ${f['null-order']}`).join(', ') : 'unsorted')));
  return [h('h2', {}, 'Partition specs'), table(['Spec', 'Fields'], specs, { id: 'partition-specs' }),
    h('h2', {}, 'Sort orders'), table(['Order', 'Fields'], orders, { id: 'sort-orders' })];
}

function commitBody(md, requirements, updates) {
  return { requirements: [{ type: 'assert-table-uuid', uuid: md['table-uuid'] }, ...requirements], updates };
}

function propertiesSection(md, path, canWrite, rerender) {
  const props = md.properties || {};
  const rows = Object.keys(props).sort().map(k => h('tr', { 'data-prop': k }, h('td', { class: 'mono' }, k), h('td', { class: 'mono' }, props[k]),
    h('td', {}, canWrite ? h('button', { class: 'remove-prop', onclick: () => action('Remove property ' + k,
      () => post(path, commitBody(md, [], [{ action: 'remove-properties', removals: [k] }])), rerender) }, 'Remove') : '')));
  const out = [h('h2', {}, 'Properties'), table(['Key', 'Value', ''], rows, { id: 'table-properties' })];
  if (canWrite) {
    const k = h('input', { id: 'prop-key', placeholder: 'key' }), v = h('input', { id: 'prop-value', placeholder: 'value' });
    out.push(h('form', { class: 'inline', id: 'set-property', onsubmit: ev => {
      ev.preventDefault();
      action('Set property ' + k.value, () => post(path, commitBody(md, [], [{ action: 'set-properties', updates: { [k.value]: v.value } }])), rerender);
    } }, k, v, h('button', { type: 'submit' }, 'Set property')));
  }
  return out;
}

// ancestors walks a branch's history from its head, newest first.
function ancestors(byId, head, limit = 200) {
  const out = [];
  for (let s = byId.get(head); s && out.length < limit; s = byId.get(s['parent-snapshot-id'])) out.push(s);
  return out;
}

function refsSection(md, byId, path, canWrite, rerender) {
  const refs = md.refs || {};
  const rows = Object.keys(refs).sort().map(name => {
    const r = refs[name];
    const cells = [h('td', { class: 'mono' }, name), h('td', {}, r.type), h('td', { class: 'mono' }, String(r['snapshot-id'])),
      h('td', { class: 'muted' }, [r['max-ref-age-ms'] && `max age ${r['max-ref-age-ms']} ms`, r['min-snapshots-to-keep'] && `keep ${r['min-snapshots-to-keep']}`].filter(Boolean).join(', '))];
    let ctl = '';
    if (canWrite && r.type === 'branch') {
      const older = ancestors(byId, r['snapshot-id']).slice(1);
      if (older.length) {
        const sel = h('select', { class: 'rollback-to', 'data-ref': name }, older.map(s =>
          h('option', { value: String(s['snapshot-id']) }, `${s['snapshot-id']} · ${time(s['timestamp-ms'])} · ${(s.summary || {}).operation || ''}`)));
        ctl = h('span', {}, sel, ' ', h('button', { class: 'rollback', 'data-ref': name, onclick: () => action(`Roll ${name} back to ${sel.value}`,
          // A normal commit: it applies only if the branch still points
          // where this page saw it.
          () => post(path, commitBody(md, [{ type: 'assert-ref-snapshot-id', ref: name, 'snapshot-id': r['snapshot-id'] }],
            [{ action: 'set-snapshot-ref', 'ref-name': name, type: 'branch', 'snapshot-id': BigInt.asIntN(64, BigInt(sel.value)) }])), rerender) }, 'Roll back'));
      }
    }
    return h('tr', { 'data-ref': name }, cells, h('td', {}, ctl));
  });
  return [h('h2', {}, 'Branches and tags'), table(['Ref', 'Type', 'Snapshot', 'Retention', canWrite ? 'Roll back to' : ''], rows, { id: 'refs' })];
}

function snapshotsSection(md) {
  const snaps = md.snapshots || [];
  const newest = [...snaps].sort((a, b) => b['timestamp-ms'] - a['timestamp-ms']);
  const body = h('tbody', {});
  const info = h('span', { class: 'muted' });
  const per = 50;
  let at = 0;
  const prev = h('button', { onclick: () => { at--; draw(); } }, '← Newer');
  const next = h('button', { onclick: () => { at++; draw(); } }, 'Older →');
  function draw() {
    body.replaceChildren(...newest.slice(at * per, at * per + per).map(s => {
      const sum = s.summary || {};
      return h('tr', { 'data-snapshot-id': String(s['snapshot-id']) }, h('td', {}, time(s['timestamp-ms'])), h('td', { class: 'mono' }, String(s['snapshot-id'])),
        h('td', { class: 'mono' }, s['parent-snapshot-id'] ? String(s['parent-snapshot-id']) : ''), h('td', {}, sum.operation || ''),
        h('td', { class: 'num' }, num(sum['added-records'])), h('td', { class: 'num' }, num(sum['deleted-records'])),
        h('td', { class: 'num' }, num(sum['added-data-files'])), h('td', { class: 'num' }, num(sum['deleted-data-files'])),
        h('td', { class: 'num' }, num(sum['total-records'])));
    }));
    prev.disabled = at === 0;
    next.disabled = (at + 1) * per >= newest.length;
    info.textContent = `${num(newest.length)} snapshots · page ${at + 1} of ${Math.max(1, Math.ceil(newest.length / per))}`;
  }
  draw();
  return [h('h2', {}, 'Snapshot timeline'), opLegend(), timeline(snaps, 'rows'), timeline(snaps, 'files'),
    h('h3', {}, 'Snapshots'),
    h('table', { id: 'snapshots' }, h('thead', {}, h('tr', {}, ['When', 'Snapshot', 'Parent', 'Operation', '+rows', '−rows', '+files', '−files', 'Total rows'].map(x => h('th', {}, x)))), body),
    h('div', { class: 'pager' }, prev, next, info)];
}

function metadataLogSection(md) {
  const log = [...(md['metadata-log'] || [])].reverse();
  const rows = log.slice(0, 100).map(e => h('tr', {}, h('td', {}, time(e['timestamp-ms'])), h('td', { class: 'mono' }, e['metadata-file'])));
  return [h('h2', {}, 'Metadata log'), table(['When', 'Metadata file'], rows, { id: 'metadata-log' }),
    log.length > 100 ? h('p', { class: 'muted' }, `${num(log.length)} entries; the newest 100 are shown.`) : ''];
}

function filesList(base) {
  const body = h('tbody', {});
  const tokens = [null];
  let at = 0;
  const prev = h('button', { onclick: () => { at--; load(); } }, '← Previous');
  const next = h('button', { id: 'files-next', onclick: () => { at++; load(); } }, 'Next →');
  const info = h('span', { class: 'muted' });
  async function load() {
    try {
      let p = `${base}/files?pageSize=100`;
      if (tokens[at]) p += '&pageToken=' + encodeURIComponent(tokens[at]);
      const r = await get(p);
      tokens[at + 1] = r['next-page-token'] || null;
      body.replaceChildren(...r.files.map(f => h('tr', {}, h('td', { class: 'mono' }, f.path), h('td', {}, f.content),
        h('td', { class: 'mono' }, f.partition), h('td', { class: 'num' }, num(f.rows)), h('td', { class: 'num' }, bytes(f.bytes)))));
      prev.disabled = at === 0;
      next.disabled = !tokens[at + 1];
      info.textContent = `page ${at + 1}`;
    } catch (e) { show(e); }
  }
  const node = h('div', {}, h('table', { id: 'data-files' }, h('thead', {}, h('tr', {}, ['File', 'Content', 'Partition', 'Rows', 'Size'].map(x => h('th', {}, x)))), body),
    h('div', { class: 'pager' }, prev, next, info));
  return { node, load };
}

function filesSection(fs, list) {
  if (!fs.stats) return [h('h2', {}, 'Data files'), h('p', { class: 'muted' }, 'No snapshot: no data files.')];
  const st = fs.stats;
  const share = st.dataFiles ? (100 * st.smallFiles / st.dataFiles).toFixed(1) + '%' : '–';
  return [h('h2', {}, 'Data files'),
    h('div', { class: 'cards' }, card('data files', num(st.dataFiles), 'stat-files'), card('bytes', bytes(st.bytes), 'stat-bytes'),
      card('rows', num(st.rows), 'stat-rows'), card('delete files', num(st.deleteFiles), 'stat-delete-files'),
      card('manifests', num(st.manifests), 'stat-manifests'), card(`files under ${bytes(st.smallFileBytes)}`, share, 'stat-small-share')),
    h('h3', {}, 'File sizes'), histogram(st.histogram, st.smallFileBytes),
    h('h3', {}, `Partitions (${num(st.partitionCount)}${st.partitionsCapped ? '+' : ''}; the largest ${st.partitions.length})`), partitionBars(st.partitions),
    h('h3', {}, 'Files'), list.node];
}

function maintenanceSection(base, runs, canWrite, rerender) {
  const rows = runs.map(r => h('tr', {}, h('td', {}, r.started.replace('T', ' ').replace(/\.\d+Z$/, 'Z')), h('td', {}, r.dryRun ? 'dry run' : 'run'),
    h('td', {}, r.principal), h('td', {}, r.duration),
    h('td', { class: 'mono' }, r.error ? 'failed: ' + r.error : r.results.map(x => `${x.job}: ${x.skipped ? 'skipped (' + x.skipped + ')' : (x.expiredSnapshots || []).length + ' snapshots, ' + (x.files || []).length + ' files'}`).join('; '))));
  const out = [h('h2', {}, 'Maintenance'), table(['Started', 'Kind', 'By', 'Took', 'Outcome'], rows, { id: 'maintenance-runs' })];
  if (!runs.length) out.push(h('p', { class: 'muted' }, 'No maintenance run from the console on this replica since it started.'));
  if (canWrite) {
    const run = h('button', { id: 'maintenance-run', class: 'danger', disabled: true, onclick: () =>
      action('Maintenance', () => post(`${base}/maintenance?dry-run=false`), rerender) }, 'Run maintenance');
    const dry = h('button', { id: 'maintenance-dry-run', onclick: () => action('Maintenance dry run', async () => {
      await post(`${base}/maintenance?dry-run=true`);
      sessionStorage.setItem('ice-console-dry-run', base);
    }, rerender) }, 'Dry run');
    run.disabled = sessionStorage.getItem('ice-console-dry-run') !== base;
    out.push(h('div', { class: 'actions' }, dry, run, h('span', { class: 'muted' }, 'A dry run lists what would go; the run is enabled after it.')));
  }
  return out;
}

export async function tablePage(hashNs, name) {
  const ns = nsFromHash(hashNs);
  const path = tablePath(ns, name), base = mgmtTablePath(ns, name);
  const list = filesList(base);
  // The manifests are read while the metadata renders: the page shows at
  // once, and the file sections fill in when the server has read them.
  const statsP = Promise.all([get(`${base}/files/stats`), list.load()]);
  statsP.catch(() => {}); // reported below, once the page is drawn
  const [loaded, me, runs] = await Promise.all([get(path), whoami(ns), get(`${base}/maintenance`)]);
  const md = loaded.metadata;
  const canWrite = can(me.namespace, 'write');
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const snaps = md.snapshots || [];
  const byId = new Map(snaps.map(s => [s['snapshot-id'], s]));
  const cur = md['current-snapshot-id'];
  const curSnap = byId.get(cur);
  const sum = (curSnap && curSnap.summary) || {};

  const out = h('div', {}, h('p', {}, h('a', { href: '#/ns/' + nsToHash(ns) }, '← ' + nsName(ns))),
    h('h1', {}, 'Table ', h('span', { id: 'table-name' }, `${nsName(ns)}.${name}`)),
    h('p', { class: 'muted mono' }, md.location, ' · format v', md['format-version'], ' · ', md['table-uuid']),
    h('div', { class: 'cards' },
      card('current snapshot', cur && cur !== -1 ? String(cur) : 'none', 'current-snapshot'),
      card('rows', num(sum['total-records']), 'total-rows'),
      card('data files', num(sum['total-data-files']), 'total-files'),
      card('size', bytes(sum['total-files-size']), 'total-size'),
      card('snapshots', num(snaps.length), 'snapshot-count'),
      card('last updated', time(md['last-updated-ms']), 'last-updated')));

  const advice = h('ul', { class: 'advice', id: 'advice' }, h('li', { class: 'muted' }, 'Reading the manifests…'));
  const filesBox = h('div', { id: 'files-section' }, h('h2', {}, 'Data files'), h('p', { class: 'muted' }, 'Reading the manifests…'));
  statsP.then(([fs]) => {
    advice.replaceChildren(...fs.advice.map(a => h('li', { class: a.level }, a.message)));
    filesBox.replaceChildren(...filesSection(fs, list));
    filesBox.dataset.ready = 'ok';
  }, e => {
    advice.replaceChildren(h('li', { class: 'muted' }, 'The manifests could not be read.'));
    filesBox.replaceChildren(h('h2', {}, 'Data files'), h('p', { class: 'muted' }, 'The manifests could not be read.'));
    filesBox.dataset.ready = 'error';
    show(e);
  });
  out.append(h('h2', {}, 'Health'), advice);
  out.append(...snapshotsSection(md));
  out.append(...schemaSection(md));
  out.append(...specsSection(md));
  out.append(...propertiesSection(md, path, canWrite, rerender));
  out.append(...refsSection(md, byId, path, canWrite, rerender));
  out.append(filesBox);
  out.append(...maintenanceSection(base, runs.runs, canWrite, rerender));
  out.append(...metadataLogSection(md));
  if (canWrite) {
    out.append(h('h2', {}, 'Drop'), confirmBox('drop-table', `Drop table ${nsName(ns)}.${name}? Its files stay in storage.`, `${nsName(ns)}.${name}`, 'Drop table', () =>
      action('Drop table', async () => {
        await del(path);
        location.hash = '#/ns/' + nsToHash(ns);
      })));
  }
  return out;
}
