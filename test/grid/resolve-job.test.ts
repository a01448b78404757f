// Pins resolveJob (src/config/job.ts): the planner's fast version must give
// exactly what the first, straightforward version gave. The reference below is
// that version, verbatim (structuredClone + deepMerge), run on many partials.
import assert from 'node:assert/strict';
import { DEFAULT_JOB, METHOD_DEFAULTS, resolveJob, type JobConfig } from '../../src/config/job.ts';
import { deepMerge, isPlainObject, type Json, type JsonObject } from '../../src/util/objects.ts';

function referenceResolveJob(partial: Json): JobConfig {
  const p: JsonObject = isPlainObject(partial) ? partial : {};
  const methodPaths = Object.keys(METHOD_DEFAULTS).map((k) => k.split('.'));
  const merged = deepMerge(DEFAULT_JOB as unknown as Json, stripPaths(p, methodPaths)) as JsonObject;
  for (const path of methodPaths) {
    const spec = METHOD_DEFAULTS[path.join('.')];
    const given = getIn(p, path);
    const dflt = getIn(DEFAULT_JOB as unknown as JsonObject, path);
    let value: Json;
    if (given === undefined) value = dflt ?? null;
    else if (given === null) value = null;
    else if (isPlainObject(given)) {
      const mode = spec.key ? (given[spec.key] as string | undefined) : '';
      const baseMode = mode ?? (isPlainObject(dflt) && spec.key ? (dflt[spec.key] as string) : undefined);
      const modeDefaults = baseMode !== undefined ? spec.modes[baseMode] : undefined;
      const head: JsonObject = spec.key && baseMode !== undefined ? { [spec.key]: baseMode } : {};
      value = modeDefaults ? deepMerge({ ...head, ...modeDefaults }, given) : given;
    } else value = given;
    setIn(merged, path, value);
  }
  return merged as unknown as JobConfig;
}
function getIn(obj: JsonObject, path: string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of path) {
    if (!isPlainObject(cur) || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
function setIn(obj: JsonObject, path: string[], v: Json): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) cur = cur[k] as JsonObject;
  cur[path[path.length - 1]] = v;
}
function stripPaths(obj: JsonObject, paths: string[][]): JsonObject {
  const out = structuredClone(obj);
  for (const path of paths) {
    let cur: Json | undefined = out;
    for (const k of path.slice(0, -1)) cur = isPlainObject(cur) ? cur[k] : undefined;
    if (isPlainObject(cur)) delete cur[path[path.length - 1]];
  }
  return out;
}

/** Partials that exercise every branch: method blocks with and without mode, null, wrong kinds, nesting. */
const PARTIALS: Json[] = [
  null,
  {},
  'not an object',
  { seed: 7 },
  { model: 'models/other', task: 'arith', seed: 3, eval: { every: 5, k: 4 } },
  { train: { steps: 10, optimizer: { lr: 1e-3, schedule: 'cosine' } } },
  { train: { clip: null } },
  { train: { clip: { high: 0.28 } } },
  { train: { clip: { low: 0.1, high: 0.3, dual: 3 } } },
  { train: { policy_loss: { mode: 'clip-cov' } } },
  { train: { policy_loss: { mode: 'kl-cov', ratio: 0.01 } } },
  { train: { policy_loss: { ratio: 0.01 } } },
  { train: { policy_loss: { mode: 'unknown-mode', x: 1 } } },
  { train: { entropy_reg: { mode: 'adaptive', target: 'initial' } } },
  { train: { entropy_reg: { mode: 'vanilla', coef: -0.01 } } },
  { train: { entropy_reg: { coef: 0.1 } } },
  { train: { entropy_adv: {} } },
  { train: { entropy_adv: { alpha: 0.1 } } },
  { train: { token_weights: { schedule: 'fixed', positive: 0, negative: 1 } } },
  { train: { token_weights: { schedule: 'entropy-guided', delta: 0.1 } } },
  { train: { token_weights: { schedule: 'rand-pos-clip' } } },
  { train: { token_weights: { target: 0.3 } } },
  { train: { token_weights: 5 } },
  { train: { entropy_reg: null, entropy_adv: null, token_weights: null, policy_loss: { mode: 'vanilla' } } },
  { train: { updates_per_batch: 4, clip: { low: 0.2, high: 0.28 } }, rollout: { temperature: 0.7 }, runtime: { threads: 4 } },
  { data: { subset: { method: 'kmeans', size: 616 } }, extra: { kept: [1, { a: null }] } },
  { train: [1, 2] },
  { eval: null },
];

describe('resolveJob (pinned against its first version)', () => {
  PARTIALS.forEach((p, i) => {
    it(`partial #${i}: ${JSON.stringify(p).slice(0, 70)}`, () => {
      const got = resolveJob(p);
      const want = referenceResolveJob(p);
      assert.deepStrictEqual(got, want);
      assert.equal(JSON.stringify(got), JSON.stringify(want)); // key order too
    });
  });

  it('gives the exact documented defaults for an empty partial', () => {
    assert.deepStrictEqual(resolveJob({}), {
      model: 'models/base',
      task: 'arith',
      seed: 1,
      data: { subset: { method: 'all', size: null, clusters: 64, seed: 0 } },
      train: {
        steps: 200, prompts_per_batch: 32, group_size: 8, updates_per_batch: 1,
        optimizer: { name: 'adamw', lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, grad_clip: 1, schedule: 'constant', warmup_steps: 0, min_lr_ratio: 0.1 },
        clip: { low: 0.2, high: 0.2, dual: 3 },
        loss_agg: 'token-mean',
        advantage: { estimator: 'grpo', normalize_std: true },
        policy_loss: { mode: 'vanilla' },
        entropy_reg: null, entropy_adv: null, token_weights: null,
      },
      rollout: { temperature: 1, top_p: 1, max_new_tokens: 48 },
      eval: { every: 20, samples: 16, k: null, validation: 'id-val', questions: null, probe_prompts: 64, schedule: 'all', keep_responses: 'selected' },
      runtime: { backend: 'auto', threads: 1, checkpoint_every: 10 },
    });
  });

  it('fills a mode’s own defaults and keeps given values (Clip-Cov, entropy-guided)', () => {
    const j = resolveJob({ train: { policy_loss: { mode: 'clip-cov', ratio: 1e-3 }, token_weights: { schedule: 'entropy-guided' } } });
    assert.deepStrictEqual(j.train.policy_loss, { mode: 'clip-cov', ratio: 1e-3, lb: 1, ub: 5, log_ratio_clamp: null });
    assert.deepStrictEqual(j.train.token_weights, { schedule: 'entropy-guided', target: 0.2, delta: 0.05, initial: 0 });
  });

  it('neither modifies its input nor shares objects with DEFAULT_JOB or the input', () => {
    const partial = { train: { clip: { high: 0.28 }, entropy_adv: { alpha: 0.1 } } };
    const before = JSON.stringify(partial);
    const defaults = JSON.stringify(DEFAULT_JOB);
    const a = resolveJob(partial);
    const b = resolveJob({});
    assert.equal(JSON.stringify(partial), before);
    a.train.clip!.low = 0.5;
    a.train.entropy_adv!.kappa = 7;
    b.train.clip!.high = 0.5; // the first version shared this object with DEFAULT_JOB
    (b.train.policy_loss as { mode: string }).mode = 'kl-cov';
    (b.train.optimizer as { lr: number }).lr = 9;
    assert.equal(JSON.stringify(DEFAULT_JOB), defaults);
    assert.equal(resolveJob({}).train.optimizer.lr, 1e-4);
    assert.deepStrictEqual(resolveJob({}).train.clip, { low: 0.2, high: 0.2, dual: 3 });
  });
});
