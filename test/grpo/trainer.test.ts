// The trainer end to end on a tiny random model (fast): run directory
// contents, the N = 1 ratio identity, bit-exact resume, the base-model
// evaluation shared through the cache, and bit-identical metrics in two
// separate processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveJob, type JobConfig } from '../../src/config/job.ts';
import { useBackend } from '../helpers/backend.ts';
import { createModel, disposeModel } from '../../src/nn/model/index.ts';
import { saveModel } from '../../src/grpo/state.ts';
import { train } from '../../src/grpo/trainer.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';
import { readJsonl } from '../../src/runs/files.ts';
import type { Json } from '../../src/util/objects.ts';
import type { CodeVersion } from '../../src/runs/manifest.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-trainer-'));
const modelDir = path.join(tmp, 'tiny-model');

/** A tiny config: 4 steps of 4 prompts x 4 responses, evaluations every 2 steps on 3 questions. */
export function tinyConfig(over: Json = {}): JobConfig {
  const base = {
    model: modelDir,
    train: { steps: 4, prompts_per_batch: 4, group_size: 4, updates_per_batch: 2 },
    eval: { every: 2, samples: 3, questions: 3, probe_prompts: 6 },
    rollout: { max_new_tokens: 24 },
    runtime: { backend: 'wasm', checkpoint_every: 2 },
  };
  return resolveJob(deepAssign(base, over));
}

function deepAssign(a: Record<string, Json>, b: Json): Json {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return a;
  const out: Record<string, Json> = { ...a };
  for (const [k, v] of Object.entries(b))
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? deepAssign(out[k] as Record<string, Json>, v) : v;
  return out;
}

async function runIn(dir: string, config: JobConfig, stopAfterEvalAt?: number, env: Record<string, unknown> = {}): Promise<'done' | 'interrupted'> {
  fs.mkdirSync(dir, { recursive: true });
  let stop = false;
  return train({
    runDir: dir,
    config,
    projectRoot: process.cwd(),
    cacheDir: path.join(tmp, 'cache'),
    log: (m) => {
      if (stopAfterEvalAt !== undefined && m.startsWith(`step ${stopAfterEvalAt}/`)) stop = true;
    },
    shouldStop: () => stop,
    recordEnvironment: (e) => Object.assign(env, e),
  });
}

const metricsOf = (dir: string) =>
  readJsonl<Record<string, unknown>>(path.join(dir, 'metrics.jsonl')).map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/'))),
  );

describe('grpo/trainer', function () {
  this.timeout(300_000);
  useBackend('wasm');

  before(async () => {
    const world = getTaskWorld('arith');
    const m = createModel({ vocab: world.tokenizer.size, context: 64, d_model: 32, heads: 2, layers: 1, mlp_ratio: 2 }, 3);
    saveModel(modelDir, m);
    disposeModel(m);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes metrics per step, evaluations at 0 / every / last, result.json and checkpoints', async () => {
    const dir = path.join(tmp, 'a');
    const env: Record<string, unknown> = {};
    assert.equal(await runIn(dir, tinyConfig({ train: { steps: 5 } }), undefined, env), 'done');
    // the base model's content, as its checkpoint states it (the config names it by path only)
    assert.equal(env.model_sha256, JSON.parse(fs.readFileSync(path.join(modelDir, 'checkpoint.json'), 'utf8')).sha256);
    assert.equal(env.backend, 'wasm');
    const metrics = metricsOf(dir);
    assert.deepEqual(metrics.map((r) => r.step), [1, 2, 3, 4, 5]);
    for (const key of ['actor/entropy', 'actor/pg_clipfrac', 'actor/pg_clipfrac_lower', 'actor/ppo_kl', 'actor/pg_loss', 'actor/grad_norm', 'critic/score/mean', 'response_length/mean', 'actor/lr', 'data/epoch'])
      assert.ok(key in metrics[0], `metrics.jsonl lacks ${key}`);
    // clip diagnostics every step; the ratio percentiles of the last (off-policy) update are ordered
    for (const r of metrics) {
      for (const key of ['rlgrid/clipfrac', 'rlgrid/clipfrac_high', 'rlgrid/clipfrac_low', 'rlgrid/clipfrac_pos', 'rlgrid/clipfrac_neg', 'rlgrid/clip_high_old_prob', 'rlgrid/clip_low_old_prob'])
        assert.ok(key in r, `metrics.jsonl lacks ${key}`);
      const [p1, p50, p99] = ['rlgrid/ratio_p1', 'rlgrid/ratio_p50', 'rlgrid/ratio_p99'].map((k) => r[k] as number);
      assert.ok(p1 <= p50 && p50 <= p99 && p1 > 0, `percentiles ${p1} ${p50} ${p99}`);
    }
    const evals = readJsonl<{ step: number; benchmarks: Record<string, { correct: number[]; n: number }> }>(path.join(dir, 'eval.jsonl'));
    assert.deepEqual(evals.map((e) => e.step), [0, 2, 4, 5]);
    const world = getTaskWorld('arith');
    assert.deepEqual(Object.keys(evals[0].benchmarks), world.benchmarks.map((b) => b.name));
    assert.equal(evals[0].benchmarks['id-val'].correct.length, 3);
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    assert.equal(result.status, 'done');
    assert.ok([0, 2, 4, 5].includes(result.best_step));
    assert.equal(result.subset_size, world.train.length);
    for (const f of ['checkpoints/last/checkpoint.json', 'checkpoints/last/tensors.bin', 'checkpoints/best/tensors.bin', 'subset.json'])
      assert.ok(fs.existsSync(path.join(dir, f)), f);
  });

  it('with one update per batch the ratio is exactly 1: no clipping, zero approx-KL (old_logp from the rollout on wasm, scored on cpu)', async () => {
    // wasm (the fast path): old_logp are the log-probs sampling recorded; cpu
    // (the generic path): the batch is scored by the update's own function
    for (const backend of ['cpu', 'wasm']) {
      const dir = path.join(tmp, `n1-${backend}`);
      await runIn(dir, tinyConfig({ train: { updates_per_batch: 1, steps: backend === 'cpu' ? 1 : 3 }, runtime: { backend } }));
      for (const r of metricsOf(dir)) {
        assert.equal(r['actor/ppo_kl'], 0, backend);
        assert.equal(r['actor/pg_clipfrac'], 0);
        assert.deepEqual([r['rlgrid/clipfrac'], r['rlgrid/ratio_p1'], r['rlgrid/ratio_p50'], r['rlgrid/ratio_p99']], [0, 1, 1, 1]);
      }
    }
    const dir = path.join(tmp, 'n1-wasm');
    // evaluations at steps 0, 2, 3: the "last 3" are the trained ones (2 and 3), never the base model's step 0
    const evals = readJsonl<{ step: number; probe_entropy: number }>(path.join(dir, 'eval.jsonl'));
    assert.deepEqual(evals.map((e) => e.step), [0, 2, 3]);
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    assert.equal(result.final.probe_entropy_last3, (evals[1].probe_entropy + evals[2].probe_entropy) / 2);
  });

  it("adaptive entropy bonus: 'previous' is on at step 1 and then follows the last step's entropy; 'current' this step's", async () => {
    // target 1e-3 is below any rollout entropy of the tiny model: 'current' never applies the bonus,
    // 'previous' applies c0 at step 1 (Skywork-OR1 starts it on), then not (step 1's entropy was above)
    const coefs = async (indicator: string) => {
      const dir = path.join(tmp, `ind-${indicator}`);
      const reg = { mode: 'adaptive', target: 0.001, c0: 0.004, delta: 0.001, c_max: 0.005, indicator };
      await runIn(dir, tinyConfig({ train: { updates_per_batch: 1, steps: 3, entropy_reg: reg } }));
      return metricsOf(dir).map((r) => r['actor/entropy_coef']);
    };
    assert.deepEqual(await coefs('previous'), [0.004, 0, 0]);
    assert.deepEqual(await coefs('current'), [0, 0, 0]);
  });

  it('resuming from checkpoints/last gives the same metrics as not stopping (bit-exact)', async () => {
    const full = path.join(tmp, 'full');
    const cut = path.join(tmp, 'cut');
    const cfg = tinyConfig();
    await runIn(full, cfg);
    assert.equal(await runIn(cut, cfg, 2), 'interrupted');
    assert.equal(metricsOf(cut).length, 2);
    assert.equal(await runIn(cut, cfg), 'done');
    assert.deepEqual(metricsOf(cut), metricsOf(full));
    assert.deepEqual(readJsonl(path.join(cut, 'eval.jsonl')), readJsonl(path.join(full, 'eval.jsonl')));
  });

  it('shares the base-model evaluation between jobs that differ only in training: same numbers, computed once per seed, eval settings and code', async () => {
    const cache = path.join(tmp, 'eval-cache');
    const code: CodeVersion = { commit: 'c1'.repeat(20), tree: 'f'.repeat(64), dirty: false, diff_hash: null };
    const shared: string[] = [];
    const run = async (name: string, config: JobConfig, c: CodeVersion = code) => {
      const dir = path.join(tmp, `share-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      const log = (m: string) => {
        if (m.startsWith('step 0:') && m.includes('cache')) shared.push(name);
      };
      await train({ runDir: dir, config, projectRoot: process.cwd(), cacheDir: cache, code: c, log, shouldStop: () => false, recordEnvironment: () => {} });
      return dir;
    };
    const grpo = tinyConfig({ train: { steps: 2, updates_per_batch: 1 } });
    const other = tinyConfig({ train: { steps: 2, token_weights: { schedule: 'fixed', positive: 0, negative: 1 } } });
    await run('grpo', grpo);
    const b = await run('other', other);
    // the same job with nothing shared (no code version)
    const alone = path.join(tmp, 'share-alone');
    await runIn(alone, other);
    assert.deepEqual(shared, ['other']);
    assert.deepEqual(readJsonl(path.join(b, 'eval.jsonl')), readJsonl(path.join(alone, 'eval.jsonl')));
    assert.deepEqual(metricsOf(b), metricsOf(alone));
    // a commit that left the code fingerprint alone still shares; another seed, other eval settings or other code do not
    await run('docs-commit', other, { ...code, commit: 'd2'.repeat(20) });
    await run('seed', tinyConfig({ seed: 2, train: { steps: 2 } }));
    await run('eval', tinyConfig({ train: { steps: 2 }, eval: { samples: 2 } }));
    await run('code', other, { ...code, tree: 'e'.repeat(64) });
    await run('dirty', other, { ...code, dirty: true, diff_hash: 'a'.repeat(64) });
    assert.deepEqual(shared, ['other', 'docs-commit']);
    // 5 base evaluations, each with its responses beside it (eval.keep_responses 'selected' by default)
    const kinds = fs.readdirSync(cache).filter((f) => f.endsWith('.json')).map((f) => (JSON.parse(fs.readFileSync(path.join(cache, f), 'utf8')) as { key: { kind: string } }).key.kind);
    assert.deepEqual(kinds.sort(), [...Array(5).fill('base-eval'), ...Array(5).fill('base-eval-responses')]);
  });

  it('leaks no tensors across a job', async () => {
    const before = tf.memory().numTensors;
    await runIn(path.join(tmp, 'leak'), tinyConfig({ train: { steps: 2 } }));
    assert.equal(tf.memory().numTensors, before);
  });

  it('gives bit-identical metrics in two separate processes', () => {
    const cfg = tinyConfig({ train: { policy_loss: { mode: 'clip-cov', ratio: 0.05 }, clip: { dual: null } } });
    const script = path.join(tmp, 'child.mts');
    fs.writeFileSync(
      script,
      `import { train } from ${JSON.stringify(path.resolve('src/grpo/trainer.ts'))};\n` +
        `const [dir, cfg] = [process.argv[2], JSON.parse(process.argv[3])];\n` +
        `await train({ runDir: dir, config: cfg, projectRoot: process.cwd(), cacheDir: dir + '-cache', log: () => {}, shouldStop: () => false, recordEnvironment: () => {} });\n`,
    );
    const dirs = [path.join(tmp, 'p1'), path.join(tmp, 'p2')];
    for (const d of dirs) {
      fs.mkdirSync(d, { recursive: true });
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, d, JSON.stringify(cfg)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
    }
    assert.ok(metricsOf(dirs[0]).length === 4);
    assert.deepEqual(metricsOf(dirs[0]), metricsOf(dirs[1]));
  });
});
