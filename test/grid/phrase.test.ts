// grids/phrase/: world v2's study grids are arith's with the world, the base
// model and the entropy targets changed, nothing else (every other config
// field, every row and seed the same); .ci/run runs and checks the CI grids
// that have golden tables.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { planGrid } from '../../src/grid/index.ts';
import type { JobConfig } from '../../src/config/job.ts';
import type { Json } from '../../src/util/objects.ts';
import { REPO } from './helpers.ts';

/** A config with the fields world v2 changes by design reset to arith's. */
function asArith(c: JobConfig): Json {
  const out = JSON.parse(JSON.stringify(c)) as { model: string; task: string; train: Record<string, { target?: Json } | null> };
  assert.equal(out.model, 'models/phrase');
  assert.equal(out.task, 'phrase');
  out.model = 'models/base';
  out.task = 'arith';
  for (const k of ['entropy_reg', 'token_weights'] as const) {
    const t = out.train[k];
    if (t && t.target === 0.2) t.target = 0.12;
  }
  return out as unknown as Json;
}

describe('grids/phrase (world v2)', () => {
  const twins = [
    ...['table2', 'table3', 'fig-calibration', 'fig-clip-lr', 'fig-clipping', 'fig-entropy-coef', 'fig-entropy-methods', 'fig-offpolicy'].map((g) => [g, `phrase/${g}`]),
    ...['table3', 'fig-entropy-coef'].map((g) => [`ci/${g}`, `ci/phrase-${g}`]),
  ];
  for (const [g, twin] of twins) {
    it(`${twin} runs arith's ${g} with phrase's world, base model and target 0.2`, () => {
      const arith = planGrid(`grids/${g}.yaml`, { root: REPO });
      const phrase = planGrid(`grids/${twin}.yaml`, { root: REPO });
      const key = (l: Record<string, string>): string => JSON.stringify(Object.entries(l).map(([k, v]) => [k, v.replace('target 0.2)', 'target 0.12)')]));
      const byLabels = new Map(arith.jobs.map((j) => [key(j.labels), j.config]));
      assert.equal(phrase.jobs.length, arith.jobs.length);
      for (const j of phrase.jobs) {
        const twin = byLabels.get(key(j.labels));
        assert.ok(twin, `no arith job for ${key(j.labels)}`);
        assert.deepEqual(asArith(j.config), JSON.parse(JSON.stringify(twin)), key(j.labels));
      }
    });
  }

  it('ci/phrase-table2 keeps the four rows where entropy rises, 6 seeds, gates the comparisons that hold and keeps the others ungated', () => {
    const plan = planGrid('grids/ci/phrase-table2.yaml', { root: REPO });
    assert.deepEqual([...new Set(plan.jobs.map((j) => j.labels.method))], ['GRPO N=4', 'Clip-Higher', 'A>=0 only', 'A<=0 only']);
    assert.equal(plan.jobs.length, 24);
    assert.deepEqual([...new Set(plan.jobs.map((j) => j.labels.seed))].sort(), ['1', '2', '3', '4', '5', '6']);
    assert.deepEqual(
      plan.claims.filter((c) => c.gate !== false).map((c) => c.name).sort(),
      ['Negative-advantage tokens alone raise entropy above the base model\'s', 'Positive-advantage tokens drive entropy collapse'],
    );
    assert.deepEqual(
      plan.claims.filter((c) => c.gate === false).map((c) => c.name).sort(),
      ['Clip-Higher keeps entropy above GRPO', "Default GRPO N=4's entropy falls below the base model's", 'Positive-advantage tokens alone give the most severe collapse'],
    );
  });

  it('ci/phrase-fig-entropy-coef gates what holds on phrase: both coefficient signs, not the diversity correlation', () => {
    const plan = planGrid('grids/ci/phrase-fig-entropy-coef.yaml', { root: REPO });
    assert.deepEqual(
      plan.claims.filter((c) => c.gate !== false).map((c) => c.name).sort(),
      ['A negative entropy coefficient lowers entropy', 'A positive entropy coefficient raises entropy'],
    );
    assert.equal(plan.claims.length, planGrid('grids/ci/fig-entropy-coef.yaml', { root: REPO }).claims.length, 'every claim of arith\'s CI grid, restated or inherited');
  });

  it('.ci/run checks a golden table for every grid it runs (but the smoke grid), and runs the grid of every golden table', () => {
    const script = fs.readFileSync(path.join(REPO, '.ci/run'), 'utf8');
    const loop = /for g in ([\w -]+); do/.exec(script);
    assert.ok(loop, 'the grid loop of .ci/run');
    const grids = loop[1].trim().split(/\s+/);
    for (const g of grids) assert.ok(fs.existsSync(path.join(REPO, `grids/ci/${g}.yaml`)), `grids/ci/${g}.yaml`);
    const golden = fs.readdirSync(path.join(REPO, 'grids/ci/golden')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    for (const g of golden) assert.ok(grids.includes(g), `golden ${g}.json without a CI grid`);
    for (const g of grids.filter((x) => x !== 'smoke-table2')) assert.ok(golden.includes(g), `CI grid ${g} without a golden table`);
  });
});
