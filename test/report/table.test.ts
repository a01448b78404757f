// Tables from fixture run directories (written by fixture.ts through the run
// store), with the exact text of every format, and the aggregation maths on
// small in-memory records.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveJob } from '../../src/config/job.ts';
import type { Plan } from '../../src/grid/types.ts';
import { renderTable, parseCsv } from '../../src/report/format.ts';
import { compareWithGolden, formatDifferences } from '../../src/report/golden.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { buildTable } from '../../src/report/table.ts';
import type { JobRecord, Result } from '../../src/report/types.ts';
import { methodsFixture, resultOf, subsetsFixture, tmpDir } from './fixture.ts';

const text = (lines: string[]) => lines.join('\n') + '\n';

const TERM = [
  "methods: Avg@k / Pass@k (%) at the selected checkpoint",
  "┌─────────────┬─────────────────┬─────────────────────────────┬─────────────────────────────┬─────────────────────────────┬─────────────────────────────┬─────────────────────────────┬───────────────────┐",
  "│ method      │               n │                      id-val │                     id-hard │                   ood-logic │                Average (ID) │               Average (OOD) │           Entropy │",
  "├─────────────┼─────────────────┼─────────────────────────────┼─────────────────────────────┼─────────────────────────────┼─────────────────────────────┼─────────────────────────────┼───────────────────┤",
  "│ GRPO        │               3 │ 37.00 ± 1.00 / 75.00 ± 2.00 │ 16.00 ± 1.00 / 42.00 ± 2.00 │ 23.00 ± 0.50 / 46.00 ± 1.00 │ 26.50 ± 1.00 / 58.50 ± 2.00 │ 23.00 ± 0.50 / 46.00 ± 1.00 │ 0.62100 ± 0.00300 │",
  "│ Clip-Higher │               3 │ 42.00 ± 1.00 / 80.00 ± 2.00 │ 18.00 ± 1.00 / 45.00 ± 2.00 │ 22.00 ± 0.50 / 47.00 ± 1.00 │ 30.00 ± 1.00 / 62.50 ± 2.00 │ 22.00 ± 0.50 / 47.00 ± 1.00 │ 0.67800 ± 0.00300 │",
  "│ Clip-Free   │  2/3 (failed 1) │ 46.50 ± 0.71 / 84.00 ± 1.41 │ 19.50 ± 0.71 / 47.00 ± 1.41 │ 20.75 ± 0.35 / 47.50 ± 0.71 │ 33.00 ± 0.71 / 65.50 ± 1.41 │ 20.75 ± 0.35 / 47.50 ± 0.71 │ 0.73350 ± 0.00212 │",
  "│ Entropy-Adv │ 0/3 (missing 3) │                           — │                           — │                           — │                           — │                           — │                 — │",
  "└─────────────┴─────────────────┴─────────────────────────────┴─────────────────────────────┴─────────────────────────────┴─────────────────────────────┴─────────────────────────────┴───────────────────┘",
  "Benchmark cells: Avg@4 / Pass@4 in %, at the checkpoint selected on id-val; mean ± std over jobs.",
  "Entropy: final EMA (beta 0.6) of actor/entropy, in nats.",
  "n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.",
];

const MD = [
  "**methods: Avg@k / Pass@k (%) at the selected checkpoint**",
  "",
  "| method | n | id-val | id-hard | ood-logic | Average (ID) | Average (OOD) | Entropy |",
  "|:---|---:|---:|---:|---:|---:|---:|---:|",
  "| GRPO | 3 | 37.00 ± 1.00 / 75.00 ± 2.00 | 16.00 ± 1.00 / 42.00 ± 2.00 | 23.00 ± 0.50 / 46.00 ± 1.00 | 26.50 ± 1.00 / 58.50 ± 2.00 | 23.00 ± 0.50 / 46.00 ± 1.00 | 0.62100 ± 0.00300 |",
  "| Clip-Higher | 3 | 42.00 ± 1.00 / 80.00 ± 2.00 | 18.00 ± 1.00 / 45.00 ± 2.00 | 22.00 ± 0.50 / 47.00 ± 1.00 | 30.00 ± 1.00 / 62.50 ± 2.00 | 22.00 ± 0.50 / 47.00 ± 1.00 | 0.67800 ± 0.00300 |",
  "| Clip-Free | 2/3 (failed 1) | 46.50 ± 0.71 / 84.00 ± 1.41 | 19.50 ± 0.71 / 47.00 ± 1.41 | 20.75 ± 0.35 / 47.50 ± 0.71 | 33.00 ± 0.71 / 65.50 ± 1.41 | 20.75 ± 0.35 / 47.50 ± 0.71 | 0.73350 ± 0.00212 |",
  "| Entropy-Adv | 0/3 (missing 3) | — | — | — | — | — | — |",
  "",
  "Benchmark cells: Avg@4 / Pass@4 in %, at the checkpoint selected on id-val; mean ± std over jobs.  ",
  "Entropy: final EMA (beta 0.6) of actor/entropy, in nats.  ",
  "n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.",
];

const CSV = [
  "method,n,planned,not finished,id-val Avg@4,id-val Avg@4 std,id-val Avg@4 n,id-val Pass@4,id-val Pass@4 std,id-val Pass@4 n,id-hard Avg@4,id-hard Avg@4 std,id-hard Avg@4 n,id-hard Pass@4,id-hard Pass@4 std,id-hard Pass@4 n,ood-logic Avg@4,ood-logic Avg@4 std,ood-logic Avg@4 n,ood-logic Pass@4,ood-logic Pass@4 std,ood-logic Pass@4 n,Average (ID) Avg@4,Average (ID) Avg@4 std,Average (ID) Avg@4 n,Average (ID) Pass@4,Average (ID) Pass@4 std,Average (ID) Pass@4 n,Average (OOD) Avg@4,Average (OOD) Avg@4 std,Average (OOD) Avg@4 n,Average (OOD) Pass@4,Average (OOD) Pass@4 std,Average (OOD) Pass@4 n,Entropy,Entropy std,Entropy n",
  "GRPO,3,3,,37.00,1.00,3,75.00,2.00,3,16.00,1.00,3,42.00,2.00,3,23.00,0.50,3,46.00,1.00,3,26.50,1.00,3,58.50,2.00,3,23.00,0.50,3,46.00,1.00,3,0.62100,0.00300,3",
  "Clip-Higher,3,3,,42.00,1.00,3,80.00,2.00,3,18.00,1.00,3,45.00,2.00,3,22.00,0.50,3,47.00,1.00,3,30.00,1.00,3,62.50,2.00,3,22.00,0.50,3,47.00,1.00,3,0.67800,0.00300,3",
  "Clip-Free,2,3,failed 1,46.50,0.71,2,84.00,1.41,2,19.50,0.71,2,47.00,1.41,2,20.75,0.35,2,47.50,0.71,2,33.00,0.71,2,65.50,1.41,2,20.75,0.35,2,47.50,0.71,2,0.73350,0.00212,2",
  "Entropy-Adv,0,3,missing 3,,,0,,,0,,,0,,,0,,,0,,,0,,,0,,,0,,,0,,,0,,,0",
];

const LATEX = [
  "% requires \\usepackage{booktabs}",
  "\\begin{table}[t]",
  "\\centering",
  "\\caption{methods: Avg@k / Pass@k (\\%) at the selected checkpoint. Benchmark cells: Avg@4 / Pass@4 in \\%, at the checkpoint selected on id-val; mean $\\pm$ std over jobs. Entropy: final EMA (beta 0.6) of actor/entropy, in nats. n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.}",
  "\\small",
  "\\begin{tabular}{lrrrrrrr}",
  "\\toprule",
  "method & n & id-val & id-hard & ood-logic & Average (ID) & Average (OOD) & Entropy \\\\",
  "\\midrule",
  "GRPO & 3 & 37.00 $\\pm$ 1.00 / 75.00 $\\pm$ 2.00 & 16.00 $\\pm$ 1.00 / 42.00 $\\pm$ 2.00 & 23.00 $\\pm$ 0.50 / 46.00 $\\pm$ 1.00 & 26.50 $\\pm$ 1.00 / 58.50 $\\pm$ 2.00 & 23.00 $\\pm$ 0.50 / 46.00 $\\pm$ 1.00 & 0.62100 $\\pm$ 0.00300 \\\\",
  "Clip-Higher & 3 & 42.00 $\\pm$ 1.00 / 80.00 $\\pm$ 2.00 & 18.00 $\\pm$ 1.00 / 45.00 $\\pm$ 2.00 & 22.00 $\\pm$ 0.50 / 47.00 $\\pm$ 1.00 & 30.00 $\\pm$ 1.00 / 62.50 $\\pm$ 2.00 & 22.00 $\\pm$ 0.50 / 47.00 $\\pm$ 1.00 & 0.67800 $\\pm$ 0.00300 \\\\",
  "Clip-Free & 2/3 (failed 1) & 46.50 $\\pm$ 0.71 / 84.00 $\\pm$ 1.41 & 19.50 $\\pm$ 0.71 / 47.00 $\\pm$ 1.41 & 20.75 $\\pm$ 0.35 / 47.50 $\\pm$ 0.71 & 33.00 $\\pm$ 0.71 / 65.50 $\\pm$ 1.41 & 20.75 $\\pm$ 0.35 / 47.50 $\\pm$ 0.71 & 0.73350 $\\pm$ 0.00212 \\\\",
  "Entropy-Adv & 0/3 (missing 3) & -- & -- & -- & -- & -- & -- \\\\",
  "\\bottomrule",
  "\\end{tabular}",
  "\\end{table}",
];

const TABLE1 = [
  "methods: Spearman correlation of probe entropy with Avg@k / Pass@k across checkpoints",
  "┌─────────────┬─────────────────┬────────┬─────────┬───────────┬──────────────┬───────────────┐",
  "│ method      │               n │ id-val │ id-hard │ ood-logic │ Average (ID) │ Average (OOD) │",
  "├─────────────┼─────────────────┼────────┼─────────┼───────────┼──────────────┼───────────────┤",
  "│ GRPO        │               3 │      — │       — │         — │            — │             — │",
  "│ Clip-Higher │               3 │      — │       — │         — │            — │             — │",
  "│ Clip-Free   │  2/3 (failed 1) │      — │       — │         — │            — │             — │",
  "│ Entropy-Adv │ 0/3 (missing 3) │      — │       — │         — │            — │             — │",
  "└─────────────┴─────────────────┴────────┴─────────┴───────────┴──────────────┴───────────────┘",
  "Each cell: Spearman rho of probe entropy with Avg@k / Pass@k over a job's evaluations (step 0 included; at least 5), mean ± std over jobs.",
  "n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.",
];

const TABLE3_MD = [
  "**subsets: Avg@k / Pass@k (%) at the selected checkpoint**",
  "",
  "| subset | n | Size | id-val | id-hard | ood-logic | Average (ID) | Average (OOD) | Entropy |",
  "|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
  "| K-means 500 | 2 | 512 | 36.50 ± 0.71 / 74.00 ± 1.41 | 15.50 ± 0.71 / 41.00 ± 1.41 | 22.75 ± 0.35 / 45.50 ± 0.71 | 26.00 ± 0.71 / 57.50 ± 1.41 | 22.75 ± 0.35 / 45.50 ± 0.71 | 0.61950 ± 0.00212 |",
  "| Random 500 | 2 | 500 | 41.50 ± 0.71 / 79.00 ± 1.41 | 17.50 ± 0.71 / 44.00 ± 1.41 | 21.75 ± 0.35 / 46.50 ± 0.71 | 29.50 ± 0.71 / 61.50 ± 1.41 | 21.75 ± 0.35 / 46.50 ± 0.71 | 0.67650 ± 0.00212 |",
  "| K-means 250 | 2 | 247 | 46.50 ± 0.71 / 84.00 ± 1.41 | 19.50 ± 0.71 / 47.00 ± 1.41 | 20.75 ± 0.35 / 47.50 ± 0.71 | 33.00 ± 0.71 / 65.50 ± 1.41 | 20.75 ± 0.35 / 47.50 ± 0.71 | 0.73350 ± 0.00212 |",
  "",
  "Benchmark cells: Avg@4 / Pass@4 in %, at the checkpoint selected on id-val; mean ± std over jobs.  ",
  "Entropy: final EMA (beta 0.6) of actor/entropy, in nats.  ",
  "n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.",
];

const IQM_TERM = [
  "methods: Avg@k / Pass@k (%) at the selected checkpoint",
  "┌─────────────┬─────────────────┬─────────────────────────────────────────────┬─────────────────────────────────────────────┬─────────────────────────────────────────────┬─────────────────────────────────────────────┬─────────────────────────────────────────────┬────────────────────────────┐",
  "│ method      │               n │                                      id-val │                                     id-hard │                                   ood-logic │                                Average (ID) │                               Average (OOD) │                    Entropy │",
  "├─────────────┼─────────────────┼─────────────────────────────────────────────┼─────────────────────────────────────────────┼─────────────────────────────────────────────┼─────────────────────────────────────────────┼─────────────────────────────────────────────┼────────────────────────────┤",
  "│ GRPO        │               3 │ 37.00 [36.00, 38.00] / 75.00 [73.00, 77.00] │ 16.00 [15.00, 17.00] / 42.00 [40.00, 44.00] │ 23.00 [22.50, 23.50] / 46.00 [45.00, 47.00] │ 26.50 [25.50, 27.50] / 58.50 [56.50, 60.50] │ 23.00 [22.50, 23.50] / 46.00 [45.00, 47.00] │ 0.62100 [0.61800, 0.62400] │",
  "│ Clip-Higher │               3 │ 42.00 [41.00, 43.00] / 80.00 [78.00, 82.00] │ 18.00 [17.00, 19.00] / 45.00 [43.00, 47.00] │ 22.00 [21.50, 22.50] / 47.00 [46.00, 48.00] │ 30.00 [29.00, 31.00] / 62.50 [60.50, 64.50] │ 22.00 [21.50, 22.50] / 47.00 [46.00, 48.00] │ 0.67800 [0.67500, 0.68100] │",
  "│ Clip-Free   │  2/3 (failed 1) │ 46.50 [46.00, 47.00] / 84.00 [83.00, 85.00] │ 19.50 [19.00, 20.00] / 47.00 [46.00, 48.00] │ 20.75 [20.50, 21.00] / 47.50 [47.00, 48.00] │ 33.00 [32.50, 33.50] / 65.50 [64.50, 66.50] │ 20.75 [20.50, 21.00] / 47.50 [47.00, 48.00] │ 0.73350 [0.73200, 0.73500] │",
  "│ Entropy-Adv │ 0/3 (missing 3) │                                           — │                                           — │                                           — │                                           — │                                           — │                          — │",
  "└─────────────┴─────────────────┴─────────────────────────────────────────────┴─────────────────────────────────────────────┴─────────────────────────────────────────────┴─────────────────────────────────────────────┴─────────────────────────────────────────────┴────────────────────────────┘",
  "Benchmark cells: Avg@4 / Pass@4 in %, at the checkpoint selected on id-val; IQM [95% stratified-bootstrap interval] over jobs.",
  "Entropy: final EMA (beta 0.6) of actor/entropy, in nats.",
  "n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.",
];

/** A plan over one axis `v` with the given labels, and records whose result.json has entropy_ema values. */
function memoryGrid(jobs: { v: string; status: JobRecord['status']; entropy?: number; drop?: string }[]): { plan: Plan; records: JobRecord[] } {
  const config = resolveJob({});
  const plan: Plan = {
    version: 1,
    grid: { name: 'mem', file: '/mem.yaml', hash: '0'.repeat(64) },
    axes: ['v', 'seed'],
    jobs: jobs.map((j, i) => ({ id: `a${i}`.padEnd(12, '0'), index: i, labels: { v: j.v, seed: String(i) }, config })),
    duplicates: [],
    claims: [],
  };
  const records: JobRecord[] = jobs.map((j, i) => {
    const r: JobRecord = { id: plan.jobs[i].id, labels: plan.jobs[i].labels, status: j.status, metrics: [], evals: [], config };
    if (j.status === 'done') {
      const result: Result = structuredClone(resultOf(0, 2));
      if (j.entropy !== undefined) result.final.entropy_ema = j.entropy;
      if (j.drop) delete result.selected.benchmarks[j.drop];
      r.result = result;
    }
    return r;
  });
  return { plan, records };
}

describe('report/table', function () {
  let runs: string;
  let methods: ReturnType<typeof loadGridRecords>;
  let subsets: ReturnType<typeof loadGridRecords>;

  before(function () {
    runs = tmpDir();
    methodsFixture(runs);
    subsetsFixture(runs);
    methods = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
    subsets = loadGridRecords({ kind: 'name', name: 'subsets' }, runs);
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
  });

  describe('table2 from run directories, every format', function () {
    it('terminal (cli-table3, no colour)', function () {
      assert.equal(renderTable(buildTable(methods.plan, methods.records), 'term'), text(TERM));
    });
    it('Markdown', function () {
      assert.equal(renderTable(buildTable(methods.plan, methods.records), 'md'), text(MD));
    });
    it('CSV: one number per column, empty where there is none', function () {
      assert.equal(renderTable(buildTable(methods.plan, methods.records), 'csv'), text(CSV));
    });
    it('LaTeX with booktabs', function () {
      assert.equal(renderTable(buildTable(methods.plan, methods.records), 'latex'), text(LATEX));
    });
    it('JSON: numbers in the unit shown, per-job values, the cell text', function () {
      const j = JSON.parse(renderTable(buildTable(methods.plan, methods.records), 'json'));
      assert.equal(j.version, 1);
      assert.deepEqual(j.rows.map((r: { label: string }) => r.label), ['GRPO', 'Clip-Higher', 'Clip-Free', 'Entropy-Adv']);
      const c = j.rows[0].cells['id-val/avg_at_k'];
      assert.deepEqual(c.values.map((v: number) => Number(v.toFixed(9))), [36, 37, 38]);
      assert.equal(c.n, 3);
      assert.equal(Number(c.center.toFixed(9)), 37);
      assert.equal(Number(c.std.toFixed(9)), 1);
      assert.equal(c.text, '37.00 ± 1.00');
      const failed = j.rows[2];
      assert.deepEqual(failed.jobs, { total: 3, pending: 0, running: 0, done: 2, failed: 1, interrupted: 0, missing: 0, corrupt: 0 });
      const missing = j.rows[3].cells['entropy'];
      assert.deepEqual(missing, { n: 0, center: null, std: null, lo: null, hi: null, values: [], text: '—' });
    });
  });

  it('table1-checkpoints: a job with fewer than 5 evaluations gives no rho (these have 4)', function () {
    assert.equal(renderTable(buildTable(methods.plan, methods.records, { layout: 'table1-checkpoints' }), 'term'), text(TABLE1));
  });

  it('table3: rows are the training subsets (method + size from the job configs), with the subset size', function () {
    assert.equal(renderTable(buildTable(subsets.plan, subsets.records), 'md'), text(TABLE3_MD));
  });

  it('--metric: custom columns of any metric, reduced per job (fixture: actor/pg_clipfrac = (2 mi + t) / 1000 at steps 1-30)', function () {
    const model = buildTable(methods.plan, methods.records, { metrics: ['actor/pg_clipfrac@mean', 'metrics:actor/pg_clipfrac'] });
    assert.equal(model.layout, 'custom');
    const j = JSON.parse(renderTable(model, 'json'));
    const cell = (row: number, key: string) => j.rows[row].cells[key];
    // the mean over steps 1-30 is (2 mi + 15.5) / 1000 in every seed; @last (the default) is (2 mi + 30) / 1000
    assert.deepEqual([0, 1, 2].map((r) => Number(cell(r, 'actor/pg_clipfrac@mean').center.toFixed(9))), [0.0155, 0.0175, 0.0195]);
    assert.deepEqual([0, 1, 2].map((r) => Number(cell(r, 'metrics:actor/pg_clipfrac').center.toFixed(9))), [0.03, 0.032, 0.034]);
    assert.deepEqual([0, 1, 2, 3].map((r) => cell(r, 'actor/pg_clipfrac@mean').n), [3, 3, 2, 0]);
    assert.equal(renderTable(model, 'md').split('\n')[2], '| method | n | actor/pg_clipfrac@mean | metrics:actor/pg_clipfrac |');
    assert.throws(() => buildTable(methods.plan, methods.records, { metrics: ['actor/pg_clipfrac'], layout: 'table2' }), /--metric makes a custom table; it cannot go with --layout table2/);
    assert.throws(() => buildTable(methods.plan, methods.records, { metrics: ['actor/no_such_metric'] }), /actor\/no_such_metric/);
  });

  it('--agg iqm: interquartile mean with a 95% stratified-bootstrap interval', function () {
    assert.equal(renderTable(buildTable(methods.plan, methods.records, { agg: 'iqm' }), 'term'), text(IQM_TERM));
  });

  describe('aggregation maths', function () {
    it('IQM drops the outer quartiles (n = 4: the middle two), unlike the mean', function () {
      const g = memoryGrid([0.1, 0.2, 0.3, 1.0].map((e) => ({ v: 'x', status: 'done' as const, entropy: e })));
      const iqm = buildTable(g.plan, g.records, { agg: 'iqm', reps: 500 }).rows[0].cells['entropy'];
      assert.equal(Number(iqm.center!.toFixed(12)), 0.25);
      assert.ok(iqm.lo! <= 0.25 && iqm.hi! >= 0.25 && iqm.lo! < iqm.hi!);
      const m = buildTable(g.plan, g.records).rows[0].cells['entropy'];
      assert.equal(Number(m.center!.toFixed(12)), 0.4);
      // sample std (n - 1) of 0.1, 0.2, 0.3, 1.0
      assert.equal(Number(m.std!.toFixed(12)), Number(Math.sqrt((0.09 + 0.04 + 0.01 + 0.36) / 3).toFixed(12)));
    });

    it('a metric column has 4 decimals, or enough for 3 significant digits of its largest value', function () {
      const md = (values: number[]) => {
        const g = memoryGrid(values.map((e) => ({ v: 'x', status: 'done' as const, entropy: e })));
        return renderTable(buildTable(g.plan, g.records, { metrics: ['entropy_ema'] }), 'md').split('\n')[4];
      };
      assert.equal(md([0.12, 0.14]), '| x | 2 | 0.1300 ± 0.0141 |');
      assert.equal(md([0.00013, 0.00015]), '| x | 2 | 0.000140 ± 0.000014 |');
      assert.equal(md([0.0000213, 0.0000215]), '| x | 2 | 0.0000214 ± 0.0000001 |');
      assert.equal(md([1234.5, 1234.7]), '| x | 2 | 1234.6000 ± 0.1414 |');
      assert.equal(md([0, 0]), '| x | 2 | 0.0000 ± 0.0000 |');
    });

    it('one job: the value alone, no spread', function () {
      const g = memoryGrid([{ v: 'x', status: 'done', entropy: 0.5 }]);
      const row = renderTable(buildTable(g.plan, g.records), 'csv').split('\n')[1];
      assert.match(row, /,0\.50000,,1$/);
    });

    it('a finished job without a benchmark lowers that cell\'s n, shown as (n=2)', function () {
      const g = memoryGrid([
        { v: 'x', status: 'done' },
        { v: 'x', status: 'done' },
        { v: 'x', status: 'done', drop: 'id-hard' },
      ]);
      const md = renderTable(buildTable(g.plan, g.records), 'md');
      assert.match(md, /\| x \| 3 \| 37\.00 ± 0\.00 \/ 75\.00 ± 0\.00 \| 16\.00 ± 0\.00 \(n=2\) \/ 42\.00 ± 0\.00 \(n=2\) \|/);
    });

    it('a merged duplicate label set gets its own row, read from the job it merged into, in the declared order', function () {
      const g = memoryGrid([
        { v: 'a', status: 'done', entropy: 0.1 },
        { v: 'c', status: 'done', entropy: 0.3 },
      ]);
      g.plan.duplicates.push({ id: g.plan.jobs[0].id, labels: { v: 'b', seed: '0' } });
      const rows = (order?: Record<string, string[]>) =>
        buildTable(g.plan, g.records, { labelOrder: order }).rows.map((r) => `${r.label}:${r.cells['entropy'].center}`);
      assert.deepEqual(rows(), ['a:0.1', 'c:0.3', 'b:0.1']); // a plan alone cannot place b
      assert.deepEqual(rows({ v: ['a', 'b', 'c'] }), ['a:0.1', 'b:0.1', 'c:0.3']);
    });

    it('failed, running and missing jobs are counted as such and never as zeros', function () {
      const g = memoryGrid([
        { v: 'ok', status: 'done', entropy: 0.4 },
        { v: 'ok', status: 'failed' },
        { v: 'bad', status: 'failed' },
        { v: 'bad', status: 'running' },
        { v: 'bad', status: 'missing' },
      ]);
      const model = buildTable(g.plan, g.records);
      const md = renderTable(model, 'md').split('\n');
      assert.equal(md[4], '| ok | 1/2 (failed 1) | 37.00 / 75.00 | 16.00 / 42.00 | 23.00 / 46.00 | 26.50 / 58.50 | 23.00 / 46.00 | 0.40000 |');
      assert.equal(md[5], '| bad | 0/3 (failed 1, running 1, missing 1) | — | — | — | — | — | — |');
      assert.deepEqual(model.rows[0].cells['entropy'].values, [0.4]);
    });
  });

  describe('--check against a golden table', function () {
    it('a table matches its own JSON and CSV exactly', function () {
      const model = buildTable(methods.plan, methods.records);
      assert.deepEqual(compareWithGolden(model, renderTable(model, 'json')), []);
      assert.deepEqual(compareWithGolden(model, renderTable(model, 'csv')), []);
    });

    it('a changed number is reported by row and column; a tolerance admits it', function () {
      const model = buildTable(methods.plan, methods.records);
      const golden = JSON.parse(renderTable(model, 'json'));
      golden.rows[1].cells['id-val/pass_at_k'].center = 80.3;
      const diffs = compareWithGolden(model, JSON.stringify(golden));
      assert.deepEqual(diffs, [{ row: 'Clip-Higher', column: 'id-val Pass@4', golden: '80.30', actual: '80.00' }]);
      assert.equal(formatDifferences(diffs), '  Clip-Higher | id-val Pass@4: golden 80.30, now 80.00 (-0.3)');
      assert.deepEqual(compareWithGolden(model, JSON.stringify(golden), { tolerance: 0.3 }), []);
      assert.equal(compareWithGolden(model, JSON.stringify(golden), { tolerance: 0.29 }).length, 1);
    });

    it('a row or a status that changed is a difference even with a tolerance', function () {
      const model = buildTable(methods.plan, methods.records);
      const csv = parseCsv(renderTable(model, 'csv'));
      csv[3][3] = ''; // Clip-Free: no longer "failed 1"
      csv.push(['Clip-Lower', '3', '3', '']);
      const golden = csv.map((r) => r.map((c) => (c.includes(',') ? `"${c}"` : c)).join(',')).join('\n') + '\n';
      assert.deepEqual(compareWithGolden(model, golden, { tolerance: 1 }), [
        { row: 'Clip-Free', column: 'not finished', golden: '', actual: 'failed 1' },
        { row: 'Clip-Lower', column: '(row)', golden: 'present', actual: null },
      ]);
    });
  });
});
