// grids/table2.yaml: one job per row and seed (rows that resolve to the same
// config share a job, recorded in plan.duplicates), and the rows say what
// SPEC.md says they are.
import assert from 'node:assert/strict';
import { planGrid } from '../../src/grid/index.ts';
import type { JobConfig } from '../../src/config/job.ts';
import { REPO } from './helpers.ts';

describe('grids/table2.yaml', () => {
  const plan = planGrid('grids/table2.yaml', { root: REPO });
  const rows = [
    'GRPO N=1', 'GRPO N=2', 'GRPO N=4', 'DAPO N=2', 'Clip-Higher', 'Clip-Lower', 'Clip-Tighter', 'Clip-Free',
    'Ada-Ent-Reg (target 0.12)', 'Ada-Ent-Reg (target initial)', 'Clip-Cov', 'KL-Cov', 'Entropy-Adv',
    'A>=0 only', 'A<=0 only', 'Rand-Pos-Clip', 'Pos-Adv-Reweight (Stage-based)', 'Pos-Adv-Reweight (Epoch-wise)',
    'Pos-Adv-Reweight (Entropy-guided)',
  ];
  const all = [...plan.jobs, ...plan.duplicates];
  const config = (method: string, seed = '1'): JobConfig => {
    const id = all.find((j) => j.labels.method === method && j.labels.seed === seed)!.id;
    return plan.jobs.find((j) => j.id === id)!.config;
  };

  it('has every row with seeds 1, 2, 3, in row order', () => {
    assert.deepEqual(plan.axes, ['method', 'seed']);
    assert.deepEqual(
      all.map((j) => `${j.labels.method}/${j.labels.seed}`).sort(),
      rows.flatMap((r) => ['1', '2', '3'].map((s) => `${r}/${s}`)).sort(),
    );
    assert.deepEqual([...new Set(plan.jobs.map((j) => j.labels.method))], rows);
  });

  it("runs DAPO as its own job: Clip-Higher at N = 2 (the study's DAPO row sits between GRPO N=2 and N=4)", () => {
    assert.equal(plan.jobs.length, 57);
    assert.deepEqual(plan.duplicates, []);
    const dapo = config('DAPO N=2');
    assert.equal(dapo.train.updates_per_batch, 2);
    assert.deepEqual(dapo.train.clip, { low: 0.2, high: 0.28, dual: 3 });
    assert.equal(config('Clip-Higher').train.updates_per_batch, 4);
    assert.deepEqual(config('Clip-Higher').train.clip, dapo.train.clip);
  });

  it('gives Ada-Ent-Reg and entropy-guided reweighting one target, as the study', () => {
    const ada = config('Ada-Ent-Reg (target 0.12)').train.entropy_reg as { target: number };
    const eg = config('Pos-Adv-Reweight (Entropy-guided)').train.token_weights as { target: number };
    assert.equal(ada.target, eg.target);
    assert.equal(ada.target, 0.12);
  });

  it('uses the small-scale study base', () => {
    const c = config('GRPO N=1', '2');
    assert.equal(c.seed, 2);
    assert.deepEqual([c.train.steps, c.train.prompts_per_batch, c.train.group_size, c.train.optimizer.lr], [200, 32, 8, 1e-4]);
    assert.deepEqual([c.eval.every, c.eval.samples], [20, 16]);
  });

  it('sets each row as SPEC.md defines it', () => {
    const n = (m: string) => config(m).train.updates_per_batch;
    assert.deepEqual(['GRPO N=1', 'GRPO N=2', 'GRPO N=4'].map(n), [1, 2, 4]);
    assert.equal(n('DAPO N=2'), 2);
    for (const r of rows.slice(4)) assert.equal(n(r), 4, r);
    // veRL applies the dual clip (c = 3) everywhere but in Clip-Cov
    assert.deepEqual(config('GRPO N=4').train.clip, { low: 0.2, high: 0.2, dual: 3 });
    assert.deepEqual(config('DAPO N=2').train.clip, { low: 0.2, high: 0.28, dual: 3 });
    assert.deepEqual(config('Clip-Lower').train.clip, { low: 0.28, high: 0.2, dual: 3 });
    assert.deepEqual(config('Clip-Tighter').train.clip, { low: 0.12, high: 0.2, dual: 3 });
    assert.deepEqual(config('Clip-Cov').train.clip, { low: 0.2, high: 0.2, dual: null });
    assert.equal(config('Clip-Free').train.clip, null);
    assert.deepEqual(config('Ada-Ent-Reg (target 0.12)').train.entropy_reg, { mode: 'adaptive', target: 0.12, delta: 1e-4, c_max: 0.005, c0: 0, initial_prompts: 1000, indicator: 'previous' });
    assert.equal((config('Ada-Ent-Reg (target initial)').train.entropy_reg as { target: unknown }).target, 'initial');
    assert.deepEqual(config('Clip-Cov').train.policy_loss, { mode: 'clip-cov', ratio: 2e-4, lb: 1, ub: 5, log_ratio_clamp: null });
    assert.deepEqual([config('KL-Cov').train.policy_loss, config('KL-Cov').train.clip], [{ mode: 'kl-cov', ratio: 2e-3, coef: 1, log_ratio_clamp: null }, null]);
    assert.deepEqual(config('Entropy-Adv').train.entropy_adv, { alpha: 0.4, kappa: 2 });
    assert.deepEqual(config('A>=0 only').train.token_weights, { schedule: 'fixed', positive: 1, negative: 0 });
    assert.deepEqual(config('A<=0 only').train.token_weights, { schedule: 'fixed', positive: 0, negative: 1 });
    assert.deepEqual(config('Rand-Pos-Clip').train.token_weights, { schedule: 'rand-pos-clip', fraction: 2e-4 });
    assert.deepEqual(config('Pos-Adv-Reweight (Stage-based)').train.token_weights, { schedule: 'stage-based' });
    assert.deepEqual(config('Pos-Adv-Reweight (Epoch-wise)').train.token_weights, { schedule: 'epoch-wise', epochs: 3 });
    assert.deepEqual(config('Pos-Adv-Reweight (Entropy-guided)').train.token_weights, { schedule: 'entropy-guided', target: 0.12, delta: 0.05, initial: 0 });
  });

  it('carries its table and claims', () => {
    assert.deepEqual(plan.table, { layout: 'table2', rows: 'method' });
    assert.deepEqual(plan.claims.find((c) => c.name === 'Positive-advantage tokens drive entropy collapse'), {
      name: 'Positive-advantage tokens drive entropy collapse',
      metric: 'final.probe_entropy_last3',
      expect: { greater: { method: 'A<=0 only' }, than: { method: 'A>=0 only' } },
      note: "The study's Section 7: training on positive-advantage tokens only collapses entropy, on negative-advantage tokens only keeps it up.",
    });
    assert.deepEqual(plan.claims[0].expect, { below: 'base.probe_entropy', of: { method: 'GRPO N=1' } });
    assert.deepEqual(plan.claims.find((c) => c.name === 'More off-policy updates lower entropy')?.expect, {
      decreasing: [{ method: 'GRPO N=1' }, { method: 'GRPO N=2' }, { method: 'GRPO N=4' }],
    });
    assert.equal(plan.claims.length, 18);
    // gated only where the claim holds robustly at CI scale (README: both hold at full scale and in CI)
    assert.deepEqual(
      plan.claims.filter((c) => c.gate !== false).map((c) => c.name),
      ["Default GRPO's entropy falls below the base model's", 'Positive-advantage tokens drive entropy collapse'],
    );
  });
});
