// `rlgrid reproduce`: a real GRPO job (tiny random model, 3 steps) reproduced
// bit for bit, its first steps only, and caught when a number of the original
// was changed; then the standards (bit-exact vs tolerance) and bad input on
// jobs of the fast test runner. Real processes, temp run directories.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../src/nn/backend.ts';
import { createModel, disposeModel } from '../../src/nn/model/index.ts';
import { saveModel } from '../../src/grpo/state.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';
import { environmentFacts } from '../../src/cli/reproduce.ts';
import type { Plan } from '../../src/grid/types.ts';
import { readJsonl } from '../../src/runs/files.ts';
import { freezePlan, jobDir, openStore } from '../../src/runs/store.ts';
import { job, runCli, seedPlan, testEnv, tmpDir, writePlan } from '../exec/fixtures.ts';

type Row = Record<string, unknown>;

/** Rewrite one number of a JSONL file (the row with this step); returns the file's old text to restore. */
function tamper(file: string, step: number, key: string, change: (x: number) => number): { before: number; after: number; text: string } {
  const text = fs.readFileSync(file, 'utf8');
  const rows = text.trim().split('\n').map((l) => JSON.parse(l) as Row);
  const row = rows.find((r) => r.step === step)!;
  const before = row[key] as number;
  const after = change(before);
  assert.notEqual(after, before);
  row[key] = after;
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { before, after, text };
}

interface ReproduceJson {
  format: string;
  job: { id: string; labels: Record<string, string>; seed: number | null };
  steps: number;
  of_steps: number;
  verdict: string;
  required: string;
  tolerance: number;
  reproduction: string | null;
  environment: { same: boolean; differences: string[] };
  max_relative_difference: number | null;
  first_difference: { source: string; step: number; key: string; original: number | null; reproduction: number | null } | null;
  comparisons: { source: string; rows: number; verdict: string }[];
}

describe('rlgrid reproduce', function () {
  this.timeout(600_000);
  const tmp = tmpDir('rlgrid-reproduce-test-');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('a real training job (GRPO, tiny random model)', () => {
    const runs = path.join(tmp, 'grpo-runs');
    const store = openStore(runs);
    const modelDir = path.join(tmp, 'tiny-model');
    // the GRPO trainer, a fixed code version
    const env = testEnv({ RLGRID_JOB_RUNNER: undefined });
    let plan: Plan;
    let dir: string;

    before(async () => {
      await initBackend('wasm', 1);
      const world = getTaskWorld('arith');
      const m = createModel({ vocab: world.tokenizer.size, context: 48, d_model: 16, heads: 2, layers: 1, mlp_ratio: 2 }, 5);
      saveModel(modelDir, m);
      disposeModel(m);
      const j = job(0, { seed: '1' }, {
        model: modelDir,
        seed: 1,
        // a random model earns no reward: the entropy bonus gives gradients, so the weights really change
        train: { steps: 3, prompts_per_batch: 2, group_size: 4, updates_per_batch: 2, entropy_reg: { mode: 'vanilla', coef: 0.01 }, optimizer: { lr: 3e-3 } },
        eval: { every: 2, samples: 2, questions: 2, probe_prompts: 4 },
        rollout: { max_new_tokens: 12 },
        runtime: { backend: 'wasm', checkpoint_every: 2 },
      });
      plan = { version: 1, grid: { name: 'tiny-grpo', file: '/nonexistent/tiny-grpo.yaml', hash: 'h1' }, axes: ['seed'], jobs: [j], duplicates: [], claims: [] };
      freezePlan(store, plan);
      dir = jobDir(store, j.id);
      const r = await runCli(['exec', j.id, '--runs-dir', runs], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readJsonl<Row>(path.join(dir, 'metrics.jsonl')).map((x) => x.step), [1, 2, 3]);
      assert.deepEqual(readJsonl<Row>(path.join(dir, 'eval.jsonl')).map((x) => x.step), [0, 2, 3]);
      assert.ok(readJsonl<Row>(path.join(dir, 'metrics.jsonl')).every((x) => (x['actor/grad_norm'] as number) > 0), 'no gradient');
    });

    it('re-runs the job (GRID:axis=label) and finds it bit-exact; the scratch directory is removed', async () => {
      const out = path.join(tmp, 'scratch-1');
      const r = await runCli(['reproduce', 'tiny-grpo:seed=1', '--json', '--out', out, '--runs-dir', runs], env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const j = JSON.parse(r.stdout) as ReproduceJson;
      assert.equal(j.format, 'rlgrid.reproduce');
      assert.deepEqual([j.job.id, j.job.seed], [plan.jobs[0].id, plan.jobs[0].config.seed]);
      assert.equal(j.verdict, 'bit-exact');
      assert.equal(j.required, 'bit-exact');
      assert.equal(j.tolerance, 0);
      assert.equal(j.environment.same, true);
      assert.equal(j.first_difference, null);
      assert.deepEqual(
        j.comparisons.map((c) => [c.source, c.rows, c.verdict]),
        [
          ['metrics.jsonl', 3, 'bit-exact'],
          ['eval.jsonl', 3, 'bit-exact'],
        ],
      );
      assert.equal(j.reproduction, null);
      assert.ok(!fs.existsSync(out), 'scratch directory left behind');
    });

    it('--steps 2 runs the unchanged config, stops after step 2, compares steps 1-2 and keeps it with --keep', async () => {
      const out = path.join(tmp, 'scratch-2');
      const r = await runCli(['reproduce', plan.jobs[0].id, '--steps', '2', '--keep', '--json', '--out', out, '--runs-dir', runs], env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const j = JSON.parse(r.stdout) as ReproduceJson;
      assert.equal(j.verdict, 'bit-exact');
      assert.equal(j.steps, 2);
      assert.equal(j.of_steps, 3);
      assert.deepEqual(
        j.comparisons.map((c) => [c.source, c.rows]),
        [
          ['metrics.jsonl', 2],
          ['eval.jsonl', 2],
        ],
      );
      const kept = j.reproduction!;
      assert.equal(kept, path.join(out, 'jobs', plan.jobs[0].id));
      // train.steps stays 3 (schedules that depend on it are the original's); the job stopped after step 2
      assert.equal(fs.readFileSync(path.join(kept, 'config.json'), 'utf8'), fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.deepEqual(readJsonl<Row>(path.join(kept, 'metrics.jsonl')).map((x) => x.step), [1, 2]);
      assert.deepEqual(readJsonl<Row>(path.join(kept, 'eval.jsonl')).map((x) => x.step), [0, 2]);
      const m = JSON.parse(fs.readFileSync(path.join(kept, 'manifest.json'), 'utf8')) as { status: string; environment: { backend: string } };
      assert.equal(m.status, 'interrupted');
      assert.equal(m.environment.backend, 'wasm');
    });

    it('reports "different" at the step where a number of the original was changed, with both values, and exits 1', async () => {
      const file = path.join(dir, 'metrics.jsonl');
      const t = tamper(file, 2, 'actor/entropy', (x) => x * 1.01);
      try {
        const r = await runCli(['reproduce', plan.jobs[0].id, '--runs-dir', runs], env);
        assert.equal(r.code, 1, r.stderr + r.stdout);
        assert.match(r.stdout, /^environment: same .*bit-exact required$/m);
        assert.match(r.stdout, /^eval\.jsonl \(3 evaluations\): bit-exact$/m);
        assert.ok(
          r.stdout.includes(`verdict: different: first at step 2, metrics.jsonl actor/entropy: ${t.after} (original) vs ${t.before} (reproduction)`),
          r.stdout,
        );
      } finally {
        fs.writeFileSync(file, t.text);
      }
    });
  });

  it('environment facts: a retrained base model is a difference; a run that did not record its model is not compared on it', () => {
    const m = (sha?: string) => ({ node_version: 'v20', environment: { backend: 'wasm', ...(sha ? { model_sha256: sha } : {}) } });
    const model = (a: Record<string, unknown>, b: Record<string, unknown>) => environmentFacts(a, b).find((f) => f.key === 'base model');
    assert.deepEqual(model(m('aa'), m('bb')), { key: 'base model', original: 'aa', reproduction: 'bb' });
    assert.deepEqual(model(m('aa'), m('aa')), { key: 'base model', original: 'aa', reproduction: 'aa' });
    assert.equal(model(m(), m('bb')), undefined);
    assert.deepEqual(environmentFacts(m(), m('bb')).map((f) => f.key), environmentFacts(m('aa'), m('bb')).map((f) => f.key).filter((k) => k !== 'base model'));
  });

  it('environment facts: the code fingerprint is compared when the original recorded one', () => {
    const m = (tree?: string) => ({ code: { commit: 'c1', dirty: false, diff_hash: null, ...(tree ? { tree } : {}) } });
    const code = (a: Record<string, unknown>, b: Record<string, unknown>) => environmentFacts(a, b).find((f) => f.key === 'code');
    assert.deepEqual(code(m('t1'), m('t2')), { key: 'code', original: 't1', reproduction: 't2' });
    assert.equal(code(m(), m('t2')), undefined);
  });

  it('environment facts: with fingerprints on both sides a different commit is not a difference (a docs-only commit keeps bit-exactness)', () => {
    const m = (commit: string, tree?: string) => ({ code: { commit, dirty: false, diff_hash: null, ...(tree ? { tree } : {}) } });
    const differing = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      environmentFacts(a, b).filter((f) => JSON.stringify(f.original) !== JSON.stringify(f.reproduction)).map((f) => f.key);
    assert.deepEqual(differing(m('c1', 't1'), m('c2', 't1')), []);
    assert.deepEqual(differing(m('c1', 't1'), m('c2', 't2')), ['code']);
    // without a fingerprint on either side the commit decides
    assert.deepEqual(differing(m('c1'), m('c2', 't1')), ['commit']);
    assert.deepEqual(differing(m('c1', 't1'), m('c2')), ['commit', 'code']);
  });

  describe('standards and input (test job runner)', () => {
    const runs = path.join(tmp, 'test-runs');
    const env = testEnv();
    const plan = seedPlan('fast', [1, 2], 6);
    const [a, b] = plan.jobs.map((j) => jobDir(openStore(runs), j.id));
    const reproduce = async (args: string[]) => runCli(['reproduce', ...args, '--runs-dir', runs], env);
    const json = (stdout: string) => JSON.parse(stdout) as ReproduceJson;

    before(async () => {
      const r = await runCli(['run', writePlan(tmp, plan), '--runs-dir', runs], env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
    });

    it('in the same environment any inexact number is a difference (relative 1e-9 here)', async () => {
      const t = tamper(path.join(a, 'metrics.jsonl'), 3, 'critic/score/mean', (x) => x * (1 + 1e-9));
      try {
        const r = await reproduce([plan.jobs[0].id, '--json']);
        assert.equal(r.code, 1, r.stderr);
        const j = json(r.stdout);
        assert.equal(j.verdict, 'different');
        assert.deepEqual(j.first_difference, { source: 'metrics.jsonl', step: 3, key: 'critic/score/mean', original: t.after, reproduction: t.before });
      } finally {
        fs.writeFileSync(path.join(a, 'metrics.jsonl'), t.text);
      }
    });

    it('in another environment numbers may differ within the tolerance (default 1e-6 relative; --tolerance sets it)', async () => {
      const t = tamper(path.join(a, 'metrics.jsonl'), 3, 'critic/score/mean', (x) => x * (1 + 1e-9));
      const manifestFile = path.join(a, 'manifest.json');
      const manifest = fs.readFileSync(manifestFile, 'utf8');
      const m = JSON.parse(manifest) as { node_version: string; environment: Record<string, unknown> };
      fs.writeFileSync(manifestFile, JSON.stringify({ ...m, node_version: 'v0.0.1', environment: { ...m.environment, backend: 'cpu' } }));
      try {
        let r = await reproduce([plan.jobs[0].id]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /^environment differs: backend "cpu" -> "test"; node "v0\.0\.1" -> "v\d+/m);
        assert.match(r.stdout, /^verdict: within-tolerance: max relative difference 1\.000e-9 \(step 3, metrics\.jsonl critic\/score\/mean\) <= 0\.000001$/m);

        r = await reproduce([plan.jobs[0].id, '--json', '--tolerance', '1e-10']);
        assert.equal(r.code, 1, r.stderr);
        const j = json(r.stdout);
        assert.equal(j.required, 'within-tolerance');
        assert.equal(j.tolerance, 1e-10);
        assert.deepEqual(j.environment.differences, ['backend', 'node']);
        assert.equal(j.verdict, 'different');
        assert.ok(Math.abs(j.max_relative_difference! - 1e-9) < 1e-12, String(j.max_relative_difference));
      } finally {
        fs.writeFileSync(path.join(a, 'metrics.jsonl'), t.text);
        fs.writeFileSync(manifestFile, manifest);
      }
    });

    it('compares eval.jsonl too', async () => {
      const t = tamper(path.join(b, 'eval.jsonl'), 3, 'probe_entropy', (x) => x + 0.5);
      try {
        const r = await reproduce(['fast:seed=2', '--json']);
        assert.equal(r.code, 1, r.stderr);
        const j = json(r.stdout);
        assert.deepEqual(
          j.comparisons.map((c) => [c.source, c.verdict]),
          [
            ['metrics.jsonl', 'bit-exact'],
            ['eval.jsonl', 'different'],
          ],
        );
        assert.deepEqual(j.first_difference, { source: 'eval.jsonl', step: 3, key: 'probe_entropy', original: t.after, reproduction: t.before });
      } finally {
        fs.writeFileSync(path.join(b, 'eval.jsonl'), t.text);
      }
    });

    it('exits 2 for a grid, too many steps, an unfinished job, a bad tolerance or a used --out', async () => {
      const cases: [string[], RegExp][] = [
        [['fast'], /fast is a grid; reproduce re-runs one job/],
        [[plan.jobs[0].id, '--steps', '7'], /--steps 7: job \w+ has 6 steps/],
        [[plan.jobs[0].id, '--steps', '0'], /--steps must be an integer >= 1/],
        [[plan.jobs[0].id, '--tolerance', '-1'], /--tolerance must be a number >= 0/],
        [[plan.jobs[0].id, '--out', a], /exists and is not an empty directory/],
      ];
      for (const [args, msg] of cases) {
        const r = await reproduce(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, msg);
      }
      // an unfinished job: only its first steps can be compared
      const m = fs.readFileSync(path.join(b, 'manifest.json'), 'utf8');
      fs.writeFileSync(path.join(b, 'manifest.json'), JSON.stringify({ ...JSON.parse(m), status: 'failed', reason: 'test' }));
      try {
        let r = await reproduce([plan.jobs[1].id]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /is failed \(last step 6 of 6\): reproduce compares a finished job, or its first N steps with --steps N/);
        r = await reproduce([plan.jobs[1].id, '--steps', '4', '--json']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(json(r.stdout).verdict, 'bit-exact');
      } finally {
        fs.writeFileSync(path.join(b, 'manifest.json'), m);
      }
    });
  });
});
