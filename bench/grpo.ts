// `npm run bench -- grpo`: the wall time of one full-scale table2 job
// (grids/table2.yaml's base: 200 steps of 32 prompts x 8, evaluations every
// 20 steps of 865 questions x 16 samples), scaled from a short measurement so
// that it runs in a few minutes:
//
//   steps  one GRPO step (rollout + scoring + N updates) of that config on the
//          shipped base model, read from the trainer's own `time/step_s`
//          (median of steps 2-4; step 1 compiles kernels), for N = 1 and 4
//   evals  one evaluation of every benchmark (865 questions) and one of the
//          validation benchmark only (126), with the probes, on the base model
//
// and the job they add up to under each eval.schedule (docs/grid-dsl.md):
//   all       200 steps + 10 full evaluations (step 0 is shared through the cache)
//   selected  200 steps + 9 validation-only + the last full + the selected
//             checkpoint's other benchmarks (full minus validation-only)
// The base model's responses stand in for the trained model's (evaluation
// time follows response length). RLGRID_BENCH_GRPO_STEPS=n measures n steps.
// It also prints how much of a rollout batch is padding, per shipped base
// model: the share of real tokens in the padded [B, T] training batch, and
// of decoding row-steps whose row is still running (docs/performance.md,
// "Padding is not computed").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveJob, type JobConfig } from '../src/config/job.ts';
import { initBackend } from '../src/nn/backend.ts';
import { evaluate } from '../src/grpo/evaluate.ts';
import { disposeModel } from '../src/nn/model/index.ts';
import { loadModel } from '../src/grpo/state.ts';
import { probePrompts, train } from '../src/grpo/trainer.ts';
import { encodePrompt, sampleAll } from '../src/grpo/rollout.ts';
import { Rng } from '../src/util/rng.ts';
import { readJsonl } from '../src/runs/files.ts';
import { getTaskWorld } from '../src/tasks/index.ts';

/** grids/table2.yaml's base (the job shape; the method rows change the loss, not the cost much). */
function table2Job(over: { updates: number; steps?: number; schedule?: 'all' | 'selected' }): JobConfig {
  return resolveJob({
    train: { steps: over.steps ?? 200, prompts_per_batch: 32, group_size: 8, updates_per_batch: over.updates, optimizer: { lr: 1e-4 } },
    eval: { every: over.steps ? 1000 : 20, samples: 16, ...(over.schedule ? { schedule: over.schedule } : {}) },
    runtime: { backend: 'auto', checkpoint_every: 1000 },
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** CPU seconds of this process (user + system): on a shared machine, closer to what an idle core would take than wall time. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function stepSeconds(n: number, steps: number): Promise<{ med: number; cpuShare: number; tokens: number; backend: unknown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-bench-grpo-'));
  try {
    // a tiny evaluation: only the steps are timed
    const config: JobConfig = { ...table2Job({ updates: n, steps }), eval: { ...table2Job({ updates: n }).eval, every: 1000, samples: 1, questions: 1, probe_prompts: 1 } };
    const env: Record<string, unknown> = {};
    const w0 = performance.now();
    const c0 = cpuNow();
    await train({
      runDir: dir,
      config,
      projectRoot: process.cwd(),
      cacheDir: path.join(dir, 'cache'),
      log: () => {},
      shouldStop: () => false,
      recordEnvironment: (e) => Object.assign(env, e),
    });
    const cpuShare = (cpuNow() - c0) / ((performance.now() - w0) / 1000);
    const rows = readJsonl<Record<string, number>>(path.join(dir, 'metrics.jsonl')).slice(1);
    return { med: median(rows.map((r) => r['time/step_s'])), cpuShare, tokens: rows.reduce((s, r) => s + r['response_length/mean'], 0) / rows.length, backend: env.backend };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function evalSeconds(scope: 'all' | 'validation'): Promise<{ wall: number; cpu: number }> {
  const cfg = table2Job({ updates: 1 });
  const world = getTaskWorld(cfg.task);
  const { model } = loadModel(path.resolve(cfg.model));
  try {
    const t0 = performance.now();
    const c0 = cpuNow();
    await evaluate(model, world, cfg, probePrompts(world, cfg.eval.probe_prompts), 20, scope);
    return { wall: (performance.now() - t0) / 1000, cpu: cpuNow() - c0 };
  } finally {
    disposeModel(model);
  }
}

/** Three rollout batches of 32 prompts x 8 from a base model: how much of the padded work is real. */
function paddingShare(task: string, modelDir: string): { real_token_share: number[]; decoding_rows_running_share: number[] } {
  const cfg = resolveJob({ task, model: modelDir });
  const world = getTaskWorld(task);
  const { model } = loadModel(path.resolve(modelDir));
  const real: number[] = [];
  const running: number[] = [];
  try {
    for (let b = 1; b <= 3; b++) {
      const prompts = world.train.slice(b * 32, b * 32 + 32);
      const gens = sampleAll(model, world, prompts, 8, cfg.rollout, Rng.derived(cfg.seed, `bench-padding:${b}`));
      const lens = gens.map((g, i) => encodePrompt(world, prompts[Math.floor(i / 8)]).length + g.tokens.length - 1);
      const resp = gens.map((g) => g.tokens.length);
      const share = (xs: number[]) => Number((xs.reduce((a, x) => a + x, 0) / (xs.length * Math.max(...xs))).toFixed(3));
      real.push(share(lens)); // against the longest input (padBatch rounds T up to a multiple of 8: a little more padding)
      running.push(share(resp)); // decoding runs until the longest response ends
    }
  } finally {
    disposeModel(model);
  }
  return { real_token_share: real, decoding_rows_running_share: running };
}

export async function benchGrpo(): Promise<void> {
  if (!fs.existsSync('models/base/checkpoint.json')) {
    console.log('models/base is missing: run `rlgrid pretrain` first');
    return;
  }
  const steps = Number(process.env.RLGRID_BENCH_GRPO_STEPS ?? 4);
  const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`table2 job, full scale, scaled from ${steps - 1} timed steps and 2 evaluations (load average ${load()} before)`);
  await initBackend('auto', 1);
  for (const [task, dir] of [['arith', 'models/base'], ['phrase', 'models/phrase']])
    if (fs.existsSync(path.join(dir, 'checkpoint.json'))) console.log(JSON.stringify({ name: 'padding', task, batches: '3 x (32 prompts x 8)', ...paddingShare(task, dir) }));
  const perStep: Record<number, { wall: number; cpu: number }> = {};
  for (const n of [1, 4]) {
    const r = await stepSeconds(n, steps);
    perStep[n] = { wall: r.med, cpu: r.med * Math.min(1, r.cpuShare) };
    console.log(
      JSON.stringify({ name: `grpo_step_N${n}`, backend: r.backend, prompts: 32, group: 8, updates: n, med_s: Number(r.med.toFixed(3)), cpu_share: Number(r.cpuShare.toFixed(2)), response_tokens_mean: Number(r.tokens.toFixed(1)) }),
    );
  }
  await initBackend('auto', 1);
  const full = await evalSeconds('all');
  const val = await evalSeconds('validation');
  console.log(
    JSON.stringify({
      name: 'evaluation',
      every_benchmark_s: Number(full.wall.toFixed(1)),
      every_benchmark_cpu_s: Number(full.cpu.toFixed(1)),
      validation_only_s: Number(val.wall.toFixed(1)),
      validation_only_cpu_s: Number(val.cpu.toFixed(1)),
      questions: { all: 865, validation: 126 },
      samples: 16,
    }),
  );
  const fmt = (s: number) => `${(s / 60).toFixed(1)} min`;
  for (const what of ['wall', 'cpu'] as const) {
    const evalAll = 10 * full[what];
    const evalSelected = 9 * val[what] + full[what] + (full[what] - val[what]);
    console.log(what === 'wall' ? '  wall time (what this machine gave now):' : '  CPU time (what an idle core would take, about; steps scaled by the run\'s CPU share):');
    for (const n of [1, 4]) {
      const train200 = 200 * perStep[n][what];
      console.log(
        `    N=${n}: training ${fmt(train200)} (200 x ${perStep[n][what].toFixed(2)} s); evaluations: all ${fmt(evalAll)}, selected ${fmt(evalSelected)}; ` +
          `job: all ${fmt(train200 + evalAll)}, selected ${fmt(train200 + evalSelected)}`,
      );
    }
  }
  console.log(`  (one worker; load average ${load()} after)`);
}
