// The View page: SQL per dialect for each version, the version history and
// the current version's schema.

import { get, viewPath } from './api.js';
import { h, time, table, nsFromHash, nsName, nsToHash } from './util.js';

export async function viewPage(hashNs, name) {
  const ns = nsFromHash(hashNs);
  const md = (await get(viewPath(ns, name))).metadata;
  const versions = [...(md.versions || [])].sort((a, b) => b['version-id'] - a['version-id']);
  const cur = md['current-version-id'];
  const schemas = new Map((md.schemas || []).map(s => [s['schema-id'], s]));
  const sqlOut = h('div', { id: 'view-sql' });
  function showVersion(v) {
    sqlOut.replaceChildren(...(v.representations || []).filter(r => r.type === 'sql').map(r =>
      h('div', { 'data-dialect': r.dialect }, h('h3', {}, r.dialect), h('pre', { class: 'mono' }, r.sql))));
  }
  const pick = h('select', { id: 'view-version', onchange: () => showVersion(versions.find(v => String(v['version-id']) === pick.value)) },
    versions.map(v => h('option', { value: v['version-id'], selected: v['version-id'] === cur }, `version ${v['version-id']}${v['version-id'] === cur ? ' (current)' : ''}`)));
  const current = versions.find(v => v['version-id'] === cur) || versions[0];
  showVersion(current);
  const schema = schemas.get(current['schema-id']) || { fields: [] };
  return h('div', {}, h('p', {}, h('a', { href: '#/ns/' + nsToHash(ns) }, '← ' + nsName(ns))),
    h('h1', {}, 'View ', h('span', { id: 'view-name' }, `${nsName(ns)}.${name}`)),
    h('p', { class: 'muted mono' }, md.location, ' · ', md['view-uuid']),
    h('h2', {}, 'SQL'), h('div', { class: 'actions' }, 'Version ', pick), sqlOut,
    h('h2', {}, 'Versions'),
    table(['Version', 'When', 'Schema', 'Dialects', 'Default namespace', 'Summary'], versions.map(v => h('tr', { 'data-version': v['version-id'] },
      h('td', {}, v['version-id']), h('td', {}, time(v['timestamp-ms'])), h('td', {}, v['schema-id']),
      h('td', {}, (v.representations || []).map(r => r.dialect).join(', ')), h('td', { class: 'mono' }, (v['default-namespace'] || []).join('.')),
      h('td', { class: 'mono' }, Object.entries(v.summary || {}).map(([k, x]) => `${k}=${x}`).join(' ')))), { id: 'view-versions' }),
    h('h2', {}, 'Schema'),
    table(['Id', 'Name', 'Type', 'Required', 'Doc'], (schema.fields || []).map(f => h('tr', { 'data-field-id': f.id, 'data-field': f.name },
      h('td', {}, f.id), h('td', { class: 'mono' }, f.name), h('td', { class: 'mono' }, typeof f.type === 'string' ? f.type : f.type.type),
      h('td', {}, f.required ? 'required' : 'optional'), h('td', {}, f.doc || ''))), { id: 'view-schema' }));
}
