// Command-line overrides (src/grid/overrides.ts, src/cli/overrides.ts):
// --set typed by the job schema, --seeds, --only with globs, on plan/run/table/check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { planGrid } from '../../src/grid/expand.ts';
import { onlyMatches, parseSeeds, parseSet, planGridWithOverrides, selectJobs } from '../../src/grid/overrides.ts';
import { gridPlan, openStore, readPlanFile } from '../../src/runs/store.ts';
import { UserError } from '../../src/util/errors.ts';
import { ROOT, executions, runCli, testEnv, tmpDir } from '../exec/fixtures.ts';

const CI = 'grids/ci/table2.yaml';
const plan = (overrides = {}) => planGridWithOverrides(CI, { root: ROOT, overrides });

describe('--set / --seeds / --only (grid overrides)', () => {
  it('--set values are typed by the job schema', () => {
    assert.deepEqual(parseSet('train.steps=3'), { path: 'train.steps', value: 3 });
    assert.deepEqual(parseSet('train.clip=null'), { path: 'train.clip', value: null });
    assert.deepEqual(parseSet('train.clip={low: 0.1, high: 0.3}'), { path: 'train.clip', value: { low: 0.1, high: 0.3 } });
    assert.deepEqual(parseSet('train.optimizer.lr=1e-3'), { path: 'train.optimizer.lr', value: 0.001 });
    // a string field keeps the text even when it reads as another YAML type
    assert.deepEqual(parseSet('model=123'), { path: 'model', value: '123' });
    assert.throws(() => parseSet('train.stesp=3'), (e: Error) => e instanceof UserError && /^--set train.stesp=3: unknown config path "train.stesp" \(did you mean "train.steps"\?\)$/.test(e.message));
    assert.throws(() => parseSet('lr=0.1'), /did you mean "train.optimizer.lr"/);
    assert.throws(() => parseSet('train.steps=abc'), /--set train.steps=abc: train.steps takes number, got string "abc"$/);
    assert.throws(() => parseSet('train.steps'), /expected path=value/);
  });

  it('--seeds lists and ranges', () => {
    assert.deepEqual(parseSeeds('1'), [1]);
    assert.deepEqual(parseSeeds('1,3-5,3'), [1, 3, 4, 5]);
    assert.throws(() => parseSeeds('1,a'), /expected seeds like 1,2 or 1-3, got "a"/);
    assert.throws(() => parseSeeds('5-3'), /empty range 5-3/);
  });

  it('globs in --only match labels; plain patterns match exactly', () => {
    assert.ok(onlyMatches('GRPO N=1', 'GRPO*'));
    assert.ok(onlyMatches('Pos-Adv-Reweight (Entropy-guided)', 'Pos-Adv-*'));
    assert.ok(!onlyMatches('A>=0 only', 'GRPO*'));
    assert.ok(onlyMatches('A>=0 only', 'A?=0 only'));
    assert.ok(onlyMatches('1', '1'));
    assert.ok(!onlyMatches('GRPO N=1', 'GRPO'));
    const p = plan();
    assert.deepEqual(
      selectJobs(p, ['method=A*', 'seed=2']).map((j) => j.labels.method),
      ['A>=0 only', 'A<=0 only'],
    );
    assert.throws(() => selectJobs(p, ['methd=GRPO*']), /has no axis "methd" \(did you mean "method"\?\)/);
  });

  it('plans the effective grid: every job overridden, new ids, the overrides recorded and hashed', () => {
    const base = plan();
    const p = plan({ set: ['train.steps=3', 'train.clip.high=0.3'], seeds: '1' });
    assert.equal(base.jobs.length, 12);
    assert.equal(p.jobs.length, 4);
    assert.deepEqual(p.jobs.map((j) => j.labels.seed), ['1', '1', '1', '1']);
    for (const j of p.jobs) {
      assert.equal(j.config.train.steps, 3);
      assert.equal(j.config.train.clip?.high, 0.3);
      assert.equal(j.config.train.clip?.low, 0.2, 'the rest of the block keeps its value');
    }
    assert.ok(p.jobs.every((j) => !base.jobs.some((b) => b.id === j.id)));
    assert.deepEqual(p.grid.overrides, ['--set train.steps=3', '--set train.clip.high=0.3', '--seeds 1']);
    assert.notEqual(p.grid.hash, base.grid.hash);
    // no overrides: exactly planGrid's plan
    assert.deepEqual(plan(), planGrid(CI, { root: ROOT }));
    // a new seed is a new job
    assert.deepEqual(plan({ seeds: '7' }).jobs.map((j) => j.config.seed), [7, 7, 7, 7]);
  });

  it('an override of a list axis\'s path is refused with the option to use instead', () => {
    assert.throws(() => plan({ set: ['seed=5'] }), /^UserError: --set seed=5: seed is the values of axis "seed"; give --seeds instead$/);
  });

  it('an override that breaks a job names the option', () => {
    assert.throws(
      () => plan({ set: ['train.clip.low=1.5'] }),
      (e: Error) => e instanceof UserError && /^--set train.clip.low=1.5 train.clip.low: must be < 1 \(12 jobs/.test(e.message),
    );
  });

  it('rlgrid run --set --only GLOB --seeds plans and runs just the selected jobs; table reads them back; a typo exits 2', async function () {
    this.timeout(60_000);
    const runs = tmpDir();
    const execLog = path.join(runs, 'exec.jsonl');
    const env = testEnv({ RLGRID_TEST_EXEC_LOG: execLog });
    const args = ['--set', 'train.steps=3', '--only', 'method=GRPO*', '--seeds', '1', '--runs-dir', runs];
    const r = await runCli(['run', CI, ...args, '--no-check'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ci-table2: 1 done/);
    const ran = executions(execLog);
    assert.equal(ran.length, 1);
    const frozen = gridPlan(openStore(runs), 'ci-table2');
    assert.equal(frozen.jobs.length, 4, 'the frozen plan is the effective grid (4 methods x seed 1)');
    assert.deepEqual(frozen.grid.overrides, ['--set train.steps=3', '--seeds 1']);
    const job = frozen.jobs.find((j) => j.labels.method === 'GRPO N=1')!;
    assert.equal(ran[0].id, job.id);
    assert.equal(readPlanFile(path.join(runs, 'ci-table2', 'plan.json')).jobs[0].config.train.steps, 3);
    assert.equal(JSON.parse(fs.readFileSync(path.join(runs, 'jobs', job.id, 'config.json'), 'utf8')).train.steps, 3);

    const t = await runCli(['table', CI, ...args, '--format', 'csv'], env);
    assert.equal(t.code, 0, t.stderr);
    const rows = t.stdout.trim().split('\n');
    assert.equal(rows.length, 2, t.stdout);
    assert.match(rows[1], /^GRPO N=1,1,/);

    const bad = await runCli(['run', CI, '--set', 'train.stesp=3', '--runs-dir', runs], env);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'error: --set train.stesp=3: unknown config path "train.stesp" (did you mean "train.steps"?)\n');
    const badOnly = await runCli(['plan', CI, '--only', 'method=GRPX*'], env);
    assert.equal(badOnly.code, 2);
    assert.match(badOnly.stderr, /no job has method=GRPX\* \(labels: GRPO N=1, A>=0 only/);
    fs.rmSync(runs, { recursive: true, force: true });
  });
});
