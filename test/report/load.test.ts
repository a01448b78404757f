// Reading a grid's runs through the run store: by grid file, name, run
// directory or plan.json, each resolved as a command's GRID argument;
// statuses as the store judges them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { planGrid } from '../../src/grid/expand.ts';
import { resolveGridArg } from '../../src/cli/grid-arg.ts';
import { loadGridRecords as loadSource, readJob } from '../../src/report/load.ts';
import { buildTable } from '../../src/report/table.ts';
import { freezePlan, jobDir, openStore } from '../../src/runs/store.ts';
import { fillJob, tmpDir } from './fixture.ts';

const GRID = `version: 1
name: two
base:
  train: {steps: 30}
  eval: {every: 10, samples: 4}
axes:
  method:
    GRPO: {}
    Clip-Higher: {train.clip: {low: 0.2, high: 0.28}}
  seed: [1, 2]
table: {layout: table2, rows: method}
`;

describe('report/load: a grid file, planned, run and read back', function () {
  let root: string;
  let runs: string;
  let file: string;
  /** Records of a GRID argument as the commands resolve it (cli/grid-arg.ts). */
  const loadGridRecords = (arg: string, runsDir: string) => loadSource(resolveGridArg(arg, runsDir), runsDir);

  before(function () {
    root = tmpDir('rlgrid-report-project-');
    runs = path.join(root, 'runs');
    file = path.join(root, 'two.yaml');
    fs.writeFileSync(file, GRID);
    const plan = planGrid(file, { root });
    const store = openStore(runs);
    freezePlan(store, plan);
    for (const j of plan.jobs)
      fillJob(jobDir(store, j.id), {
        outcome: j.labels.method === 'Clip-Higher' && j.labels.seed === '2' ? 'pending' : 'done',
        mi: j.labels.method === 'GRPO' ? 0 : 1,
        seed: Number(j.labels.seed),
      });
  });
  after(function () {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('by grid file, name, run directory and plan.json: the same plan and records', function () {
    const byFile = loadGridRecords(file, runs);
    assert.deepEqual(byFile.warnings, []);
    assert.deepEqual(byFile.labelOrder, { method: ['GRPO', 'Clip-Higher'], seed: ['1', '2'] });
    assert.deepEqual(loadGridRecords('two', runs).labelOrder, byFile.labelOrder); // from plan.grid.file
    assert.deepEqual(byFile.records.map((r) => `${r.labels.method}/${r.labels.seed}:${r.status}`), ['GRPO/1:done', 'GRPO/2:done', 'Clip-Higher/1:done', 'Clip-Higher/2:pending']);
    for (const other of ['two', path.join(runs, 'two'), path.join(runs, 'two', 'plan.json')])
      assert.deepEqual(loadGridRecords(other, runs).plan, byFile.plan, other);
    const rows = buildTable(byFile.plan, byFile.records).rows.map((r) => [r.label, r.jobs.done, r.jobs.pending]);
    assert.deepEqual(rows, [['GRPO', 2, 0], ['Clip-Higher', 1, 1]]);
  });

  it('a grid file never run under its own name reads its jobs wherever they ran (as table1 reads table2 and table3)', function () {
    // the GRPO rows under another name, plus a seed no grid ran
    const other = path.join(root, 'grpo-only.yaml');
    fs.writeFileSync(other, GRID.replace('name: two', 'name: grpo-only').replace("    Clip-Higher: {train.clip: {low: 0.2, high: 0.28}}\n", '').replace('seed: [1, 2]', 'seed: [1, 2, 3]'));
    const g = loadGridRecords(other, runs);
    assert.deepEqual(g.warnings, []);
    assert.equal(fs.existsSync(path.join(runs, 'grpo-only')), false, 'reading froze no plan');
    assert.deepEqual(g.records.map((r) => `${r.labels.method}/${r.labels.seed}:${r.status}`), ['GRPO/1:done', 'GRPO/2:done', 'GRPO/3:missing']);
    assert.deepEqual(g.records.slice(0, 2).map((r) => r.id), loadGridRecords(file, runs).records.slice(0, 2).map((r) => r.id));
  });

  it('a grid file edited after its run: the frozen plan is shown, with a warning', function () {
    fs.writeFileSync(file, GRID.replace('seed: [1, 2]', 'seed: [1, 2, 3]'));
    try {
      const g = loadGridRecords(file, runs);
      assert.equal(g.plan.jobs.length, 4);
      assert.deepEqual(g.warnings, [`${file} changed since its plan was frozen; showing what ran (${path.join(runs, 'two', 'plan.json')})`]);
    } finally {
      fs.writeFileSync(file, GRID);
    }
  });

  it('a grid file whose claims, table or labels changed but whose jobs did not: the file is judged as it is now, without a warning', function () {
    // Clip-Higher renamed CH: the same configs, so the same job ids
    const claim = 'claims:\n  - {name: CH above, metric: entropy_ema, expect: {greater: {method: CH}, than: {method: GRPO}}}\n';
    const edited = GRID.replace('Clip-Higher:', 'CH:').replace('table: {layout: table2, rows: method}\n', `table: {rows: method, columns: [entropy_ema]}\n${claim}`);
    fs.writeFileSync(file, edited);
    try {
      const g = loadGridRecords(file, runs);
      assert.deepEqual(g.warnings, []);
      assert.deepEqual(g.plan.claims.map((c) => c.name), ['CH above']);
      assert.deepEqual(g.plan.table, { rows: 'method', columns: ['entropy_ema'] });
      const frozen = loadGridRecords('two', runs).plan.jobs;
      assert.deepEqual(g.plan.jobs.map((j) => j.id), frozen.map((j) => j.id));
      assert.deepEqual(g.plan.jobs.map((j) => j.labels.method), ['GRPO', 'GRPO', 'CH', 'CH']);
      assert.deepEqual(g.records.map((r) => `${r.labels.method}/${r.labels.seed}:${r.status}`), ['GRPO/1:done', 'GRPO/2:done', 'CH/1:done', 'CH/2:pending']);
      assert.deepEqual(loadGridRecords('two', runs).plan.claims, []); // the frozen plan itself is untouched
    } finally {
      fs.writeFileSync(file, GRID);
    }
  });

  it('a job whose manifest says running but whose runner is gone reads as interrupted', function () {
    const g = loadGridRecords('two', runs);
    const dir = g.records[3].dir!;
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, status: 'running', runner: { pid: 999999999, host: 'elsewhere' } }));
    assert.equal(readJob(dir).status, 'interrupted');
    assert.equal(loadGridRecords('two', runs).records[3].status, 'interrupted');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  });
});
