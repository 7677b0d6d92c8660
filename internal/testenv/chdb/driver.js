// driver.js runs SQL through ClickHouse (chDB, the npm package `chdb`) for
// the Go tests in internal/testenv (see chdb.go there).
//
//   node driver.js <chdb package dir>   < request.json   > answer.json
//
// request: {"path": "session dir", "steps": [{"sql": "...", "parallel": false}]}
// Steps run in order on one chDB session (one ClickHouse engine per process).
// Consecutive steps marked parallel run at the same time (queryAsync).
// answer: {"version": "26.7...", "results": [{"ok": true, "rows": [...]} |
//          {"ok": false, "error": "..."}]}, one result per step.
// Rows come from ClickHouse's JSONEachRow format, one object per row; a
// statement that returns nothing gives [].
'use strict';

const fs = require('fs');

function parseRows(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (line.trim() !== '') rows.push(JSON.parse(line));
  }
  return rows;
}

async function main() {
  const pkg = process.argv[2];
  if (!pkg) throw new Error('usage: node driver.js <chdb package dir>');
  const chdb = require(pkg);
  const req = JSON.parse(fs.readFileSync(0, 'utf8'));
  const session = new chdb.Session(req.path);
  const out = { version: '', results: [] };
  try {
    out.version = parseRows(session.query('SELECT version() AS v', 'JSONEachRow'))[0].v;
    const steps = req.steps || [];
    for (let i = 0; i < steps.length; ) {
      let j = i + 1;
      if (steps[i].parallel) {
        while (j < steps.length && steps[j].parallel) j++;
      }
      const group = steps.slice(i, j);
      const results = await Promise.all(group.map(async (step) => {
        try {
          const res = await session.queryAsync(step.sql, { format: 'JSONEachRow' });
          return { ok: true, rows: parseRows(res.text()) };
        } catch (e) {
          return { ok: false, error: String(e && e.message ? e.message : e) };
        }
      }));
      out.results.push(...results);
      i = j;
    }
  } finally {
    session.close();
  }
  process.stdout.write(JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
    process.exit(2);
  },
);
