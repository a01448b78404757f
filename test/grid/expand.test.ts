// Expansion semantics: order, zip, exclude, include, null vs ~unset, method
// mode switches, patch order, dedupe, ids.
import assert from 'node:assert/strict';
import { expandGrid, expandGridWith, loadGrid, planGrid } from '../../src/grid/index.ts';
import { canonicalJson, shortId } from '../../src/util/canonical.ts';
import { resolveJob } from '../../src/config/job.ts';
import { syntheticGrid } from '../../bench/planner.ts';
import { errorsOf, labelRows, planOf, project, REPO } from './helpers.ts';

const HEAD = 'version: 1\nname: t\n';

describe('grid expansion', () => {
  it('takes the product with the first axis outermost and indexes jobs from 0', () => {
    const plan = planOf(`${HEAD}axes:\n  method: {X: {}, Y: {train.steps: 5}}\n  seed: [1, 2, 3]\n`);
    assert.deepEqual(plan.axes, ['method', 'seed']);
    assert.deepEqual(labelRows(plan), [
      ['X', '1'], ['X', '2'], ['X', '3'],
      ['Y', '1'], ['Y', '2'], ['Y', '3'],
    ]);
    assert.deepEqual(plan.jobs.map((j) => j.index), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(plan.jobs.map((j) => [j.config.seed, j.config.train.steps]), [
      [1, 200], [2, 200], [3, 200], [1, 5], [2, 5], [3, 5],
    ]);
  });

  it('follows declaration order with three axes (last axis fastest)', () => {
    const plan = planOf(`${HEAD}axes:\n  seed: [1, 2]\n  train.steps: [10, 20]\n  method: {A: {}, B: {train.loss_agg: seq-mean-token-sum}}\n`);
    assert.deepEqual(labelRows(plan), [
      ['1', '10', 'A'], ['1', '10', 'B'], ['1', '20', 'A'], ['1', '20', 'B'],
      ['2', '10', 'A'], ['2', '10', 'B'], ['2', '20', 'A'], ['2', '20', 'B'],
    ]);
  });

  it('labels list-axis values with their canonical JSON (strings quoted)', () => {
    const plan = planOf(`${HEAD}axes:\n  eval.validation: [id-val, id-hard]\n  train.optimizer.lr: [3.0e-4, 1e-3]\n`);
    assert.deepEqual(labelRows(plan), [
      ['"id-val"', '0.0003'], ['"id-val"', '0.001'], ['"id-hard"', '0.0003'], ['"id-hard"', '0.001'],
    ]);
    assert.equal(plan.jobs[3].config.eval.validation, 'id-hard');
    assert.equal(plan.jobs[3].config.train.optimizer.lr, 1e-3);
  });

  it('advances a zip group together, placed where its first axis is declared', () => {
    const plan = planOf(
      `${HEAD}axes:\n  seed: [1, 2]\n  train.optimizer.lr: [1.0e-4, 3.0e-4]\n  method: {A: {}, B: {train.loss_agg: seq-mean-token-sum}}\n  train.steps: [100, 200]\nzip: [[train.steps, train.optimizer.lr]]\n`,
    );
    assert.deepEqual(labelRows(plan), [
      ['1', '0.0001', 'A', '100'], ['1', '0.0001', 'B', '100'], ['1', '0.0003', 'A', '200'], ['1', '0.0003', 'B', '200'],
      ['2', '0.0001', 'A', '100'], ['2', '0.0001', 'B', '100'], ['2', '0.0003', 'A', '200'], ['2', '0.0003', 'B', '200'],
    ]);
    assert.deepEqual(plan.jobs.map((j) => [j.config.train.optimizer.lr, j.config.train.steps]).slice(0, 4), [
      [1e-4, 100], [1e-4, 100], [3e-4, 200], [3e-4, 200],
    ]);
  });

  it('zips a variant axis with a list axis of the same length', () => {
    const plan = planOf(`${HEAD}axes:\n  method: {A: {}, B: {train.loss_agg: seq-mean-token-sum}}\n  seed: [7, 8]\nzip: [[method, seed]]\n`);
    assert.deepEqual(labelRows(plan), [['A', '7'], ['B', '8']]);
  });

  it('drops the jobs an exclude selects (all given axes must match)', () => {
    const plan = planOf(`${HEAD}axes:\n  method: {X: {}, Y: {train.steps: 5}}\n  seed: [1, 2, 3]\nexclude:\n  - {method: Y, seed: 2}\n  - {seed: 3}\n`);
    assert.deepEqual(labelRows(plan), [['X', '1'], ['X', '2'], ['Y', '1']]);
    assert.deepEqual(plan.jobs.map((j) => j.index), [0, 1, 2]);
  });

  it('appends includes after the product: new list values, patches applied last, re-included jobs deduplicated', () => {
    const plan = planOf(
      `${HEAD}axes:\n  method: {X: {}, Y: {train.steps: 5}}\n  seed: [1, 2]\nexclude: [{method: Y}]\ninclude:\n  - labels: {method: Y, seed: 4}\n    patch: {train.steps: 7, eval.every: 7}\n  - labels: {method: X, seed: 1}\n  - labels: {seed: 9, method: Y}\n`,
    );
    assert.deepEqual(labelRows(plan), [['X', '1'], ['X', '2'], ['Y', '4'], ['Y', '9']]);
    assert.deepEqual(
      plan.jobs.map((j) => [j.config.seed, j.config.train.steps, j.config.eval.every]),
      [[1, 200, 20], [2, 200, 20], [4, 7, 7], [9, 5, 20]],
    );
    // the include of X/1 resolves to the product's X/1 job
    assert.deepEqual(plan.duplicates, [{ id: plan.jobs[0].id, labels: { method: 'X', seed: '1' } }]);
  });

  it('treats null as a value and ~unset as "back to the default"', () => {
    const plan = planOf(
      `${HEAD}base:\n  train: {clip: {low: 0.1, high: 0.3}, entropy_adv: {alpha: 0.1}}\n  eval: {k: 4}\naxes:\n  method:\n    Free: {train.clip: null, train.entropy_adv: null}\n    Reset: {train.clip: ~unset, eval.k: ~unset}\n    Reset-High: {train.clip.high: ~unset}\n    K-null: {eval.k: null}\n`,
    );
    const by = Object.fromEntries(plan.jobs.map((j) => [j.labels.method, j.config]));
    assert.equal(by.Free.train.clip, null);
    assert.equal(by.Free.train.entropy_adv, null);
    assert.deepEqual(by.Reset.train.clip, { low: 0.2, high: 0.2, dual: 3 });
    assert.equal(by.Reset.eval.k, null);
    assert.deepEqual(by['Reset-High'].train.clip, { low: 0.1, high: 0.2, dual: 3 });
    assert.deepEqual(by['Reset-High'].train.entropy_adv, { alpha: 0.1, kappa: 2 });
    assert.equal(by['K-null'].eval.k, null);
  });

  it('replaces a method block given another mode, and merges one given the same mode or none', () => {
    const plan = planOf(
      `${HEAD}base:\n  train.token_weights: {schedule: entropy-guided, target: 0.3}\naxes:\n  method:\n    Fixed: {train.token_weights: {schedule: fixed, positive: 0}}\n    Same-Mode: {train.token_weights: {schedule: entropy-guided, delta: 0.1}}\n    No-Mode: {train.token_weights.delta: 0.2}\n`,
    );
    const by = Object.fromEntries(plan.jobs.map((j) => [j.labels.method, j.config.train.token_weights]));
    assert.deepEqual(by.Fixed, { schedule: 'fixed', positive: 0, negative: 1 });
    assert.deepEqual(by['Same-Mode'], { schedule: 'entropy-guided', target: 0.3, delta: 0.1, initial: 0 });
    assert.deepEqual(by['No-Mode'], { schedule: 'entropy-guided', target: 0.3, delta: 0.2, initial: 0 });
  });

  it('applies patches in axis order: a later axis wins over an earlier one and over base', () => {
    const plan = planOf(`${HEAD}base: {train.steps: 1}\naxes:\n  a: {P: {train.steps: 10, eval.every: 3}}\n  b: {Q: {train.steps: 20}}\n`);
    assert.equal(plan.jobs[0].config.train.steps, 20);
    assert.equal(plan.jobs[0].config.eval.every, 3);
  });

  it('merges identical resolved configs into one job and records the other label sets', () => {
    const plan = planOf(`${HEAD}axes:\n  method:\n    GRPO: {}\n    Same: {train.clip: {low: 0.2, high: 0.2}}\n    Higher: {train.clip.high: 0.28}\n  seed: [1, 2]\n`);
    assert.deepEqual(labelRows(plan), [['GRPO', '1'], ['GRPO', '2'], ['Higher', '1'], ['Higher', '2']]);
    assert.deepEqual(plan.jobs.map((j) => j.index), [0, 1, 2, 3]);
    assert.deepEqual(plan.duplicates, [
      { id: plan.jobs[0].id, labels: { method: 'Same', seed: '1' } },
      { id: plan.jobs[1].id, labels: { method: 'Same', seed: '2' } },
    ]);
  });

  it('identifies a job by the short sha256 of its canonical resolved config', () => {
    const plan = planOf(`${HEAD}axes:\n  method: {A: {train.clip: null}}\n  seed: [5]\n`);
    const j = plan.jobs[0];
    assert.equal(j.id, shortId(j.config));
    assert.equal(j.id, shortId(resolveJob({ seed: 5, train: { clip: null } })));
    assert.match(j.id, /^[0-9a-f]{12}$/);
  });

  it('pins the id of the all-defaults job (it changes only when DEFAULT_JOB or the hashing does)', () => {
    const plan = planOf(HEAD);
    assert.equal(plan.jobs.length, 1);
    assert.deepEqual(plan.jobs[0].labels, {});
    assert.deepEqual(plan.jobs[0].config, resolveJob({}));
    assert.equal(plan.jobs[0].id, shortId(resolveJob({})));
    assert.equal(plan.jobs[0].id, 'ffea05dfee47');
  });

  it('gives the same ids and grid hash across runs, key order, and dotted or nested spelling', () => {
    const a = `${HEAD}base:\n  train: {steps: 50, clip: {low: 0.1, high: 0.3}}\n  seed: 4\naxes:\n  method:\n    A: {train.clip.high: 0.28, eval.every: 5}\n    B: {train.entropy_reg: {mode: adaptive, target: 0.2}}\n`;
    const b = `name: t\nversion: 1\naxes:\n  method:\n    A: {eval: {every: 5}, train: {clip: {high: 0.28}}}\n    B: {train.entropy_reg: {target: 0.2, mode: adaptive}}\nbase:\n  seed: 4\n  train.clip: {high: 0.3, low: 0.1}\n  train.steps: 50\n`;
    const pa = planOf(a);
    const pb = planOf(b);
    assert.deepEqual(pa.jobs.map((j) => j.id), pb.jobs.map((j) => j.id));
    assert.equal(pa.grid.hash, pb.grid.hash);
    assert.deepEqual(planOf(a).jobs.map((j) => j.id), pa.jobs.map((j) => j.id));
    assert.notEqual(pa.jobs[0].id, pa.jobs[1].id);
  });

  it('a grid without axes is one job: the resolved base', () => {
    const plan = planOf(`${HEAD}base: {seed: 9, train.steps: 3}\n`);
    assert.deepEqual(plan.axes, []);
    assert.deepEqual(plan.jobs.map((j) => [j.config.seed, j.config.train.steps, j.labels]), [[9, 3, {}]]);
  });

  it('freezes claims, table and grid identity into the plan', () => {
    const dir = project({ 'grids/g.yaml': `${HEAD}axes:\n  method: {A: {}}\nclaims:\n  - {name: c, metric: m, expect: {within: [0, 1], of: {method: A}}}\ntable: {rows: method}\n` });
    const plan = planGrid('grids/g.yaml', { root: dir });
    const grid = loadGrid('grids/g.yaml', { root: dir });
    assert.deepEqual(plan.grid, { name: 't', file: 'grids/g.yaml', hash: grid.hash });
    assert.deepEqual(plan.claims, [{ name: 'c', metric: 'm', expect: { within: [0, 1], of: { method: 'A' } } }]);
    assert.deepEqual(plan.table, { rows: 'method' });
  });

  it('the fast path (shared templates) gives exactly the general path’s plan', () => {
    const grids = [
      loadGrid('grids/table2.yaml', { root: REPO }),
      syntheticGrid(3),
      {
        ...syntheticGrid(3),
        base: { train: { steps: 50, clip: null }, eval: { k: 4 } },
        exclude: [{ seed: 2, method: 'KL-Cov' }],
        include: [{ labels: { method: 'GRPO', 'train.optimizer.lr': '0.5', 'rollout.temperature': '1', 'eval.samples': '8', seed: '99' }, patch: { eval: { every: 3 } } }],
      },
    ];
    for (const g of grids) {
      const fast = expandGridWith(g);
      const slow = expandGridWith(g, { fast: false });
      assert.deepStrictEqual(fast, slow);
      // key order too (the plan JSON is what users read)
      assert.equal(JSON.stringify(fast), JSON.stringify(slow));
      assert.equal(canonicalJson(fast.jobs[1].config), canonicalJson(slow.jobs[1].config));
    }
  });

  it('expandGrid works on a Grid value built in code, and rejects what the loader would', () => {
    const g = syntheticGrid(2);
    const plan = expandGrid(g);
    assert.equal(plan.jobs.length, 32);
    assert.deepEqual(plan.jobs[0].labels, { method: 'GRPO', 'train.optimizer.lr': '0.0001', 'rollout.temperature': '0.5', 'eval.samples': '8', seed: '1' });
    assert.deepEqual(errorsOf(() => expandGrid({ ...g, zip: [['seed', 'nope']] })), ['bench/synthetic.yaml zip[0]: unknown axis "nope"']);
    assert.deepEqual(errorsOf(() => expandGrid({ ...g, exclude: [{ seed: 1 }, { seed: 2 }] })), [
      'bench/synthetic.yaml: the grid expands to zero jobs: exclude drops all 32 combinations of the axes',
    ]);
    assert.deepEqual(errorsOf(() => expandGrid({ ...g, base: { train: { steps: 0 } } })), [
      'bench/synthetic.yaml train.steps: must be >= 1 (32 jobs: method=GRPO, train.optimizer.lr=0.0001, rollout.temperature=0.5, eval.samples=8, seed=1; method=GRPO, train.optimizer.lr=0.0001, rollout.temperature=0.5, eval.samples=8, seed=2; method=GRPO, train.optimizer.lr=0.0001, rollout.temperature=0.5, eval.samples=9, seed=1; +29 more)',
    ]);
  });

  it('reports an invalid job once per problem, at the YAML value that caused it, naming the jobs', () => {
    const errs = errorsOf(() =>
      planOf(`${HEAD}axes:\n  method:\n    GRPO: {}\n    Cov: {train.policy_loss: {mode: clip-cov, lb: 5, ub: 1}, train.clip.dual: null}\n  train.updates_per_batch: [1, 3]\n`),
    );
    assert.deepEqual(errs, [
      'g.yaml:6:51 axes.method.Cov.train.policy_loss.lb: Clip-Cov needs lb < ub (got lb 5, ub 1): no token could ever be selected (2 jobs: method=Cov, train.updates_per_batch=1; method=Cov, train.updates_per_batch=3)',
      'g.yaml:7:32 axes."train.updates_per_batch"[1]: 3 does not divide the rollout batch (32 x 8 = 256) (2 jobs: method=GRPO, train.updates_per_batch=3; method=Cov, train.updates_per_batch=3)',
    ]);
  });
});
