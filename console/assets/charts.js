// Hand-drawn SVG charts: the snapshot timeline, the file-size histogram and
// per-partition bars. No library: a few hundred elements at most, whatever
// the table's size, because long histories are grouped into columns.

import { num, bytes, time } from './util.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function title(text) { return s('title', {}, text); }

const OP_COLORS = { append: '#16a34a', overwrite: '#2563eb', replace: '#7c3aed', delete: '#dc2626' };

// timeline draws added (up) and removed (down) amounts per snapshot, in
// time order; with more snapshots than columns, neighbours share a column.
// metric is 'rows' or 'files'. Each column's dot is coloured by the
// operation of its last snapshot.
export function timeline(snapshots, metric, opts = {}) {
  const W = opts.width || 1100, H = 170, pad = 44, cols = Math.min(snapshots.length, opts.columns || 300);
  const svg = s('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-chart': `timeline-${metric}`, role: 'img' });
  if (!snapshots.length) { svg.append(s('text', { x: 10, y: 20 }, 'no snapshots')); return svg; }
  const addKey = metric === 'rows' ? 'added-records' : 'added-data-files';
  const remKey = metric === 'rows' ? 'deleted-records' : 'deleted-data-files';
  const sorted = [...snapshots].sort((a, b) => a['timestamp-ms'] - b['timestamp-ms']);
  const per = Math.ceil(sorted.length / cols);
  const groups = [];
  for (let i = 0; i < sorted.length; i += per) {
    const g = { add: 0, rem: 0, n: 0, first: sorted[i], last: sorted[i] };
    for (const sn of sorted.slice(i, i + per)) {
      const sum = sn.summary || {};
      g.add += Number(sum[addKey] || 0);
      g.rem += Number(sum[remKey] || 0);
      g.n++;
      g.last = sn;
    }
    groups.push(g);
  }
  const max = Math.max(1, ...groups.map(g => Math.max(g.add, g.rem)));
  const mid = H / 2, half = mid - 18, bw = (W - pad - 8) / groups.length;
  svg.append(s('line', { class: 'axis', x1: pad, x2: W - 4, y1: mid, y2: mid }));
  svg.append(s('text', { x: 2, y: 14 }, '+' + num(max)), s('text', { x: 2, y: H - 6 }, '−' + num(max)));
  svg.append(s('text', { x: 2, y: mid - 3 }, metric));
  groups.forEach((g, i) => {
    const x = pad + i * bw, w = Math.max(1, bw - (bw > 3 ? 1 : 0));
    const label = `${g.n > 1 ? g.n + ' snapshots, ' : 'snapshot ' + g.last['snapshot-id'] + ', '}${time(g.first['timestamp-ms'])}` +
      `${g.n > 1 ? ' – ' + time(g.last['timestamp-ms']) : ''}\n${(g.last.summary || {}).operation || ''}: +${num(g.add)} / −${num(g.rem)} ${metric}`;
    const col = s('g', {}, title(label));
    const ha = half * g.add / max, hr = half * g.rem / max;
    if (g.add) col.append(s('rect', { class: 'add', x, y: mid - ha, width: w, height: Math.max(ha, 1) }));
    if (g.rem) col.append(s('rect', { class: 'rem', x, y: mid, width: w, height: Math.max(hr, 1) }));
    const op = (g.last.summary || {}).operation;
    col.append(s('circle', { cx: x + w / 2, cy: 8, r: Math.min(3, Math.max(1.2, w / 2)), fill: OP_COLORS[op] || '#6b7280' }));
    svg.append(col);
  });
  svg.append(s('text', { x: pad, y: H - 2 }, time(sorted[0]['timestamp-ms'])));
  svg.append(s('text', { x: W - 4, y: H - 2, 'text-anchor': 'end' }, time(sorted[sorted.length - 1]['timestamp-ms'])));
  return svg;
}

export function opLegend() {
  const wrap = document.createElement('div');
  wrap.className = 'legend';
  const items = [['added', '#16a34a'], ['removed', '#dc2626'], ...Object.entries(OP_COLORS).map(([k, v]) => ['● ' + k, v])];
  for (const [k, c] of items) {
    const sp = document.createElement('span');
    const i = document.createElement('i');
    i.style.background = c;
    sp.append(i, k);
    wrap.append(sp);
  }
  return wrap;
}

// histogram draws the file-size buckets; buckets under the small-file
// threshold are drawn in the warning colour.
export function histogram(buckets, smallBytes) {
  const W = 560, H = 190, pad = 40, bottom = 34;
  const svg = s('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-chart': 'histogram', role: 'img' });
  const max = Math.max(1, ...buckets.map(b => b.files));
  const bw = (W - pad - 8) / buckets.length;
  let lower = 0;
  buckets.forEach((b, i) => {
    const hgt = (H - bottom - 14) * b.files / max, x = pad + i * bw;
    const label = b.upTo ? `< ${bytes(b.upTo)}` : `≥ ${bytes(lower)}`;
    const small = b.upTo && b.upTo <= smallBytes;
    svg.append(s('g', { 'data-bucket': i, 'data-files': b.files },
      title(`${label}: ${num(b.files)} files, ${bytes(b.bytes)}`),
      s('rect', { class: small ? 'small' : 'bar', x: x + 2, y: H - bottom - hgt, width: bw - 4, height: Math.max(hgt, b.files ? 1 : 0) }),
      s('text', { x: x + bw / 2, y: H - bottom - hgt - 3, 'text-anchor': 'middle' }, b.files ? num(b.files) : ''),
      s('text', { x: x + bw / 2, y: H - bottom + 14, 'text-anchor': 'middle' }, label)));
    lower = b.upTo;
  });
  svg.append(s('line', { class: 'axis', x1: pad, x2: W - 4, y1: H - bottom, y2: H - bottom }));
  svg.append(s('text', { x: 2, y: 14 }, 'files'));
  return svg;
}

// bars draws one horizontal bar per partition, by bytes, with rows and
// files in the label.
export function partitionBars(parts) {
  const W = 1100, row = 18, labelW = 280, H = Math.max(row * parts.length + 8, 30);
  const svg = s('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-chart': 'partitions', role: 'img' });
  const max = Math.max(1, ...parts.map(p => p.bytes));
  parts.forEach((p, i) => {
    const y = 4 + i * row, w = (W - labelW - 260) * p.bytes / max;
    const key = p.key === '' ? '(unpartitioned)' : p.key;
    svg.append(s('g', { 'data-partition': key },
      title(`${key}: ${num(p.rows)} rows, ${num(p.files)} files, ${bytes(p.bytes)}`),
      s('text', { x: labelW - 6, y: y + 12, 'text-anchor': 'end' }, key.length > 44 ? key.slice(0, 43) + '…' : key),
      s('rect', { class: 'bar', x: labelW, y: y + 2, width: Math.max(w, 1), height: row - 5 }),
      s('text', { x: labelW + w + 6, y: y + 12 }, `${bytes(p.bytes)} · ${num(p.files)} files · ${num(p.rows)} rows`)));
  });
  return svg;
}
