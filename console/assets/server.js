// The Server page: build, config (secrets masked by the server), etcd,
// maintenance leader, and the metrics that matter.

import { get } from './api.js';
import { h, num, bytes, table, card } from './util.js';

function yamlish(v, indent = '') {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return v.length ? v.map(x => `\n${indent}- ${yamlish(x, indent + '  ').trimStart()}`).join('') : '[]';
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return keys.length ? keys.map(k => `\n${indent}${k}: ${yamlish(v[k], indent + '  ')}`).join('') : '{}';
  }
  return String(v);
}

export async function serverPage() {
  const s = await get('/management/v1/server');
  const m = s.metrics || {};
  const ratio = m.cacheHitRatio === null || m.cacheHitRatio === undefined ? '–' : (100 * m.cacheHitRatio).toFixed(1) + '%';
  return h('div', {}, h('h1', {}, 'Server'),
    h('div', { class: 'cards' }, card('version', s.version, 'server-version'), card('go', s.goVersion), card('uptime', num(s.uptimeSec) + ' s'),
      card('catalog', s.catalog), card('warehouse', s.warehouse || '(default)')),
    h('h2', {}, 'Metrics'),
    h('div', { class: 'cards' }, card('requests', num(Math.round(m.requests)), 'metric-requests'), card('requests/s (avg)', (m.requestsPerSec || 0).toFixed(2)),
      card('5xx answers', num(m.serverErrors)), card('commits', num(m.commitsOK)), card('commit conflicts', num(m.commitConflicts), 'metric-conflicts'),
      card('commit retries', num(m.commitRetries)), card('cache hit ratio', ratio, 'metric-cache-hit-ratio'),
      card('cache', `${bytes(m.cacheBytes)} / ${bytes(m.cacheMaxBytes)}`)),
    h('h2', {}, 'etcd'), s.etcdEmbedded ? h('p', { class: 'muted' }, 'Embedded single-member etcd.') : '',
    table(['Endpoint', 'Healthy', 'Version', 'Leader', 'DB size', 'Raft index'], (s.etcd || []).map(e => h('tr', { 'data-endpoint': e.endpoint },
      h('td', { class: 'mono' }, e.endpoint), h('td', {}, e.healthy ? 'yes' : 'no: ' + e.error), h('td', {}, e.version || ''),
      h('td', {}, e.leader ? 'leader' : ''), h('td', { class: 'num' }, e.dbSize ? bytes(e.dbSize) : ''), h('td', { class: 'num' }, num(e.raftIndex)))), { id: 'etcd-endpoints' }),
    h('h2', {}, 'Maintenance'),
    h('p', { id: 'maintenance-info' }, s.maintenance.schedule ? `Schedule: ${s.maintenance.schedule}. Leader: ${s.maintenance.leader || 'none elected'}` : 'No maintenanceSchedule: scheduled maintenance is off.'),
    h('h2', {}, 'Configuration (secrets masked)'), h('pre', { class: 'mono', id: 'server-config' }, yamlish(s.config).trimStart()));
}
