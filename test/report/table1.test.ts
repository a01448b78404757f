// The study's Table 1 across trained models (SPEC 10) and its secondary
// across-checkpoints view, and the step-0 mark of table2 rows, on small
// in-memory runs whose correlations are worked out by hand.
import assert from 'node:assert/strict';
import { resolveJob } from '../../src/config/job.ts';
import type { Claim, Labels, Plan } from '../../src/grid/types.ts';
import { spearmanInterval } from '../../src/metrics/correlation.ts';
import { checkClaims } from '../../src/report/claims.ts';
import { renderTable } from '../../src/report/format.ts';
import { buildTable } from '../../src/report/table.ts';
import type { EvalRow, JobRecord, Result } from '../../src/report/types.ts';

interface Run {
  method: string;
  seed: number;
  entropy: number;
  idAvg: number;
  idPass: number;
  ood?: number;
  selectedStep?: number;
  evals?: EvalRow[];
}

function record(r: Run): JobRecord {
  const benchmarks: Record<string, { domain: string; avg_at_k: number; pass_at_k: number }> = {
    'id-val': { domain: 'id', avg_at_k: r.idAvg, pass_at_k: r.idPass },
  };
  if (r.ood !== undefined) benchmarks['ood-count'] = { domain: 'ood', avg_at_k: r.ood, pass_at_k: 0.9 };
  const result = {
    status: 'done',
    steps: 40,
    best_step: r.selectedStep ?? 40,
    selected: { step: r.selectedStep ?? 40, benchmarks },
    final: { entropy_ema: r.entropy },
  } as unknown as Result;
  return { id: `${r.method}-${r.seed}`, labels: { method: r.method, seed: String(r.seed) }, status: 'done', metrics: [], evals: r.evals ?? [], result };
}

function planOf(records: JobRecord[], duplicates: { id: string; labels: Labels }[] = []): Plan {
  return {
    version: 1,
    grid: { name: 't1', file: 't1.yaml', hash: 'f'.repeat(64) },
    axes: ['method', 'seed'],
    jobs: records.map((r, index) => ({ id: r.id, index, labels: r.labels, config: resolveJob({}) })),
    duplicates,
    claims: [],
    table: { layout: 'table1', rows: 'method' },
  };
}

// Seed 1: entropy rises A -> F; id-val Avg@k 0.5 0.4 0.45 0.3 0.2 0.1 (ranks 6 4 5 3 2 1 against 1..6):
// sum d^2 = 25 + 4 + 4 + 1 + 9 + 25 = 68, rho = 1 - 6 * 68 / (6 * 35) = -0.942857.
// id-val Pass@k is the same for every run: undefined (—). ood-count exists for 4 runs only: fewer than 5 (—).
const SEED1: Run[] = [
  { method: 'A', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.8, ood: 0.1 },
  { method: 'B', seed: 1, entropy: 0.12, idAvg: 0.4, idPass: 0.8, ood: 0.2 },
  { method: 'C', seed: 1, entropy: 0.14, idAvg: 0.45, idPass: 0.8, ood: 0.3 },
  { method: 'D', seed: 1, entropy: 0.16, idAvg: 0.3, idPass: 0.8, ood: 0.4 },
  { method: 'E', seed: 1, entropy: 0.18, idAvg: 0.2, idPass: 0.8 },
  { method: 'F', seed: 1, entropy: 0.2, idAvg: 0.1, idPass: 0.8 },
];
const RHO1 = 1 - (6 * 68) / (6 * 35);

describe('report/table: table1 across trained models (SPEC 10)', () => {
  it('one point per distinct run: rho of final EMA entropy vs the selected checkpoint, with its Fisher interval', () => {
    const recs = SEED1.map(record);
    // a duplicate label set (another row name for run A's config) is the same run: counted once
    const plan = planOf(recs, [{ id: 'A-1', labels: { method: 'A again', seed: '1' } }]);
    const t = buildTable(plan, recs);
    assert.equal(t.layout, 'table1');
    assert.deepEqual(t.rows.map((r) => r.label), ['all runs']);
    const c = t.rows[0].cells['id-val/rho_avg'];
    assert.equal(c.n, 6);
    assert.ok(Math.abs(c.center! - RHO1) < 1e-12, `rho ${c.center}`);
    // Fisher z with variance 1.06 / (n - 3): tanh(atanh(rho) -+ 1.96 sqrt(1.06 / 3))
    const z = Math.atanh(RHO1);
    const h = 1.959963984540054 * Math.sqrt(1.06 / 3);
    assert.ok(Math.abs(c.lo! - Math.tanh(z - h)) < 1e-12 && Math.abs(c.hi! - Math.tanh(z + h)) < 1e-12);
    assert.deepEqual(spearmanInterval(RHO1, 6), { lo: c.lo, hi: c.hi });
    assert.equal(t.rows[0].cells['id-val/rho_pass'].center, null); // constant scores: rho undefined
    assert.deepEqual([t.rows[0].cells['ood-count/rho_avg'].n, t.rows[0].cells['ood-count/rho_avg'].center], [4, null]); // 4 < 5 runs
    const text = renderTable(t, 'md');
    assert.match(text, /-0\.94 \[-0\.99, -0\.54\]/);
    assert.match(text, /one point per distinct finished run/);
  });

  it('one row over all runs, then one per seed', () => {
    // seed 2: the same entropies, Avg@k rising with entropy: rho +1 within seed 2
    const seed2: Run[] = SEED1.map((r, i) => ({ ...r, seed: 2, idAvg: 0.1 + 0.05 * i }));
    const recs = [...SEED1, ...seed2].map(record);
    const t = buildTable(planOf(recs), recs);
    assert.deepEqual(t.rows.map((r) => [r.label, r.cells['id-val/rho_avg'].n]), [['all runs', 12], ['seed 1', 6], ['seed 2', 6]]);
    assert.ok(Math.abs(t.rows[1].cells['id-val/rho_avg'].center! - RHO1) < 1e-12);
    assert.equal(t.rows[2].cells['id-val/rho_avg'].center, 1);
    // all 12: x ranks (pairs of equal entropies share a rank) against y; recomputed here by hand:
    // entropies 0.1..0.2 twice -> ranks 1.5, 3.5, ..., 11.5 per pair; y values sorted give their ranks
    const ys = [...SEED1.map((r) => r.idAvg), ...seed2.map((r) => r.idAvg)];
    const xs = [...SEED1, ...seed2].map((r) => r.entropy);
    const rank = (v: number[]) => v.map((a) => v.filter((b) => b < a).length + (v.filter((b) => b === a).length + 1) / 2);
    const [rx, ry] = [rank(xs), rank(ys)];
    const m = 6.5;
    const num = rx.reduce((s, a, i) => s + (a - m) * (ry[i] - m), 0);
    const den = Math.sqrt(rx.reduce((s, a) => s + (a - m) ** 2, 0) * ry.reduce((s, a) => s + (a - m) ** 2, 0));
    assert.ok(Math.abs(t.rows[0].cells['id-val/rho_avg'].center! - num / den) < 1e-12);
  });

  it('table1-checkpoints: rho across each run\'s evaluations needs at least 5 of them', () => {
    const ev = (steps: number[], ent: number[], acc: number[]): EvalRow[] =>
      steps.map((step, i) => ({ step, probe_entropy: ent[i], benchmarks: { 'id-val': { domain: 'id', n: 4, k: 4, avg_at_k: acc[i], pass_at_k: acc[i] } } }) as unknown as EvalRow);
    // 5 evaluations, entropy falling, accuracy 0.2 0.3 0.25 0.4 0.5: y ranks 1 3 2 4 5 vs x ranks 5 4 3 2 1
    // sum d^2 = 16 + 1 + 1 + 4 + 16 = 38, rho = 1 - 6 * 38 / (5 * 24) = -0.9
    const five = record({ method: 'A', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.5, evals: ev([0, 10, 20, 30, 40], [0.5, 0.4, 0.3, 0.2, 0.1], [0.2, 0.3, 0.25, 0.4, 0.5]) });
    const four = record({ method: 'B', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.5, evals: ev([0, 10, 20, 30], [0.5, 0.4, 0.3, 0.2], [0.2, 0.3, 0.4, 0.5]) });
    const t = buildTable(planOf([five, four]), [five, four], { layout: 'table1-checkpoints' });
    assert.deepEqual(t.rows.map((r) => [r.label, r.cells['id-val/rho_avg'].n]), [['A', 1], ['B', 0]]);
    assert.ok(Math.abs(t.rows[0].cells['id-val/rho_avg'].center! + 0.9) < 1e-12);
    assert.equal(t.rows[1].cells['id-val/rho_avg'].center, null);
  });
});

describe('report/table: rows whose selected checkpoint is step 0', () => {
  it('table2 marks them with † and says how many jobs selected the base model', () => {
    const recs = [
      record({ method: 'A', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.8 }),
      record({ method: 'A', seed: 2, entropy: 0.1, idAvg: 0.5, idPass: 0.8, selectedStep: 0 }),
      record({ method: 'B', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.8 }),
    ];
    const t = buildTable(planOf(recs), recs, { layout: 'table2' });
    assert.deepEqual(t.rows.map((r) => [r.label, r.baseSelected]), [['A †', 1], ['B', 0]]);
    assert.ok(t.notes.some((n) => n.includes('†: the selected checkpoint is step 0, the base model, in 1 of 2 jobs of A')), t.notes.join('\n'));
  });
});

describe('report/claims: correlation across runs (Table 1) and within runs', () => {
  const judge = (claims: Claim[], records: JobRecord[], duplicates: { id: string; labels: Labels }[] = []) =>
    checkClaims({ ...planOf(records, duplicates), claims }, records);

  it('both metrics result.json numbers: Spearman across the distinct runs, Fisher interval; without `of` every run', () => {
    const recs = SEED1.map(record);
    const [all, few, pos] = judge(
      [
        { name: 'all', metric: 'final.entropy_ema', expect: { correlation: 'selected.benchmarks.id-val.avg_at_k', sign: 'negative' } },
        { name: 'ood', metric: 'final.entropy_ema', expect: { correlation: 'selected.benchmarks.ood-count.avg_at_k', sign: 'negative' } },
        { name: 'pos', metric: 'final.entropy_ema', expect: { correlation: 'selected.benchmarks.id-val.avg_at_k', sign: 'positive' } },
      ],
      recs,
      [{ id: 'A-1', labels: { method: 'A again', seed: '1' } }],
    );
    const ci = spearmanInterval(RHO1, 6);
    // -0.943 [-0.994, -0.536]: holds (hi < 0); the duplicate label set of run A is not a seventh point
    assert.deepEqual([all.verdict, all.estimate, all.lo, all.hi], ['holds', RHO1, ci.lo, ci.hi]);
    assert.match(all.evidence, /^Spearman rho across runs -0\.9429 \[-0\.9943, -0\.5357\] \(95% Fisher z\), expected negative: every run: 6 of 6 distinct runs$/);
    assert.equal(all.source, 'result.json final.entropy_ema vs result.json selected.benchmarks.id-val.avg_at_k, across runs');
    assert.equal(few.verdict, 'not shown'); // ood-count exists for 4 runs
    assert.match(few.evidence, /at least 5 finished runs with both values \(every run: 4 of 6 distinct runs\)/);
    assert.equal(pos.verdict, 'contradicted');
  });

  it('within runs: rho per job over at least 5 evaluations, then a t interval over jobs', () => {
    const ev = (acc: number[]): EvalRow[] =>
      acc.map((a, i) => ({ step: 10 * i, probe_entropy: 0.5 - 0.1 * i, benchmarks: { 'id-val': { domain: 'id', n: 4, k: 4, avg_at_k: a, pass_at_k: a } } }) as unknown as EvalRow);
    // job 1: rho -1; job 2: rho -0.9 (as in the table1-checkpoints test): mean -0.95, sd 0.0707, se 0.05,
    // t(0.975, 1) = 12.706: [-1.585, -0.315], clipped to [-1, -0.315]
    const recs = [
      record({ method: 'A', seed: 1, entropy: 0.1, idAvg: 0.5, idPass: 0.5, evals: ev([0.2, 0.25, 0.3, 0.4, 0.5]) }),
      record({ method: 'A', seed: 2, entropy: 0.1, idAvg: 0.5, idPass: 0.5, evals: ev([0.2, 0.3, 0.25, 0.4, 0.5]) }),
    ];
    const [r] = judge([{ name: 'w', metric: 'probe_entropy', expect: { correlation: 'benchmarks.id-val.avg_at_k', sign: 'negative', of: { method: 'A' } } }], recs);
    const half = 12.706204736174698 * (0.1 / Math.sqrt(2) / Math.sqrt(2)); // t(0.975, 1) * sd / sqrt(n), sd = 0.0707
    assert.equal(r.verdict, 'holds'); // [-1.585 clipped to -1, -0.315]: below 0
    assert.ok(Math.abs(r.estimate! + 0.95) < 1e-12 && Math.abs(r.hi! - (-0.95 + half)) < 1e-9, `${r.estimate} ${r.hi}`);
  });
});
