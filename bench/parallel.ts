// Parallel speed-up of the local executor: the same small grid run with
// --jobs 1 and with --jobs 2, each into a fresh runs directory. Wall time
// includes everything a user waits for: planning, worker start-up, the jobs,
// the summary. Target: >= 1.8x on a machine with 2 idle cores.
//
// Jobs (RLGRID_BENCH_PARALLEL=test|grpo):
//   test  CPU-bound test jobs (RLGRID_JOB_RUNNER=test burning ~10 s of CPU
//         each): the executor's own overhead
//   grpo  real GRPO jobs of the full-scale table2 shape (32 prompts x 8,
//         N = 4, the shipped base model), 12 steps and no evaluation but the
//         shared step-0 one: what two wasm workers sharing caches and memory
//         bandwidth give
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveJob, type JobConfig } from '../src/config/job.ts';
import type { Plan } from '../src/grid/types.ts';
import { shortId } from '../src/util/canonical.ts';

const BIN = fileURLToPath(new URL('../bin/rlgrid.js', import.meta.url));

function jobConfig(kind: 'test' | 'grpo', seed: number, steps: number): JobConfig {
  if (kind === 'test') return resolveJob({ seed, train: { steps } });
  return resolveJob({
    seed,
    train: { steps, prompts_per_batch: 32, group_size: 8, updates_per_batch: 4, optimizer: { lr: 1e-4 } },
    eval: { every: 1000, samples: 2, questions: 8, probe_prompts: 8 },
    runtime: { checkpoint_every: 1000 },
  });
}

export async function benchParallel(): Promise<void> {
  const kind = process.env.RLGRID_BENCH_PARALLEL === 'grpo' ? 'grpo' : 'test';
  const jobs = Number(process.env.BENCH_PARALLEL_JOBS ?? 4);
  const steps = kind === 'grpo' ? 12 : 25;
  // 10 s of CPU per job: real jobs run minutes, so a worker's ~0.6 s start-up is amortised as it is there
  const burnMs = Number(process.env.BENCH_PARALLEL_BURN_MS ?? 400);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-bench-parallel-'));
  try {
    const plan: Plan = {
      version: 1,
      grid: { name: 'bench-parallel', file: path.join(tmp, 'bench-parallel.yaml'), hash: 'bench' },
      axes: ['seed'],
      jobs: Array.from({ length: jobs }, (_, i) => {
        const config = jobConfig(kind, i + 1, steps);
        return { id: shortId(config), index: i, labels: { seed: String(i + 1) }, config };
      }),
      duplicates: [],
      claims: [],
    };
    const planFile = path.join(tmp, 'plan.json');
    fs.writeFileSync(planFile, JSON.stringify(plan));
    const env = {
      ...process.env,
      ...(kind === 'test' ? { RLGRID_JOB_RUNNER: 'test', RLGRID_TEST_STEP_MS: '0', RLGRID_TEST_BURN_MS: String(burnMs) } : {}),
      // a fixed code version: no git calls in the measurement
      RLGRID_CODE_VERSION: JSON.stringify({ commit: 'bench', dirty: false, diff_hash: null }),
      NO_COLOR: '1',
    };
    delete (env as NodeJS.ProcessEnv).RLGRID_TEST_FAIL;
    const time = (workers: number): number => {
      const t = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'run', planFile, '--jobs', String(workers), '--runs-dir', path.join(tmp, `runs-${workers}`)], {
        env,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`rlgrid run --jobs ${workers} exited ${r.status}: ${r.stderr}`);
      return (performance.now() - t) / 1000;
    };
    const load = (): string => os.loadavg()[0].toFixed(1);
    const what =
      kind === 'test'
        ? `${jobs} test jobs x ${steps} steps x ${burnMs} ms CPU (${((steps * burnMs) / 1000).toFixed(1)} s of CPU per job)`
        : `${jobs} GRPO jobs x ${steps} steps of 32 prompts x 8, N = 4 (models/base)`;
    console.log(`${what}, ${os.cpus().length} CPUs, load average ${load()} before`);
    const one = time(1);
    console.log(`--jobs 1: ${one.toFixed(2)} s`);
    const two = time(2);
    console.log(`--jobs 2: ${two.toFixed(2)} s`);
    const ratio = one / two;
    console.log(`speed-up: ${ratio.toFixed(2)}x (target >= 1.8x)${ratio < 1.8 ? `  BELOW TARGET (load average ${load()} after: is the machine busy?)` : ''}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
