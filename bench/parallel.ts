// Parallel speed-up of the local executor: the same small grid of CPU-bound
// test jobs (RLGRID_JOB_RUNNER=test burning CPU each step) run with --jobs 1
// and with --jobs 2, each into a fresh runs directory. Wall time includes
// everything a user waits for: planning, worker start-up, the jobs, the summary.
// Target: >= 1.8x on a machine with 2 idle cores (each job burns ~2.5 s of CPU so
// that the fixed costs, planning and the summary, weigh little).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveJob } from '../src/config/job.ts';
import type { Plan } from '../src/grid/types.ts';
import { shortId } from '../src/util/canonical.ts';

const BIN = fileURLToPath(new URL('../bin/rlgrid.js', import.meta.url));

export async function benchParallel(): Promise<void> {
  const jobs = Number(process.env.BENCH_PARALLEL_JOBS ?? 4);
  const steps = 25;
  // 10 s of CPU per job: real jobs run minutes, so a worker's ~0.6 s start-up is amortised as it is there
  const burnMs = Number(process.env.BENCH_PARALLEL_BURN_MS ?? 400);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-bench-parallel-'));
  try {
    const plan: Plan = {
      version: 1,
      grid: { name: 'bench-parallel', file: path.join(tmp, 'bench-parallel.yaml'), hash: 'bench' },
      axes: ['seed'],
      jobs: Array.from({ length: jobs }, (_, i) => {
        const config = resolveJob({ seed: i + 1, train: { steps } });
        return { id: shortId(config), index: i, labels: { seed: String(i + 1) }, config };
      }),
      duplicates: [],
      claims: [],
    };
    const planFile = path.join(tmp, 'plan.json');
    fs.writeFileSync(planFile, JSON.stringify(plan));
    const env = {
      ...process.env,
      RLGRID_JOB_RUNNER: 'test',
      RLGRID_TEST_STEP_MS: '0',
      RLGRID_TEST_BURN_MS: String(burnMs),
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
    console.log(`${jobs} test jobs x ${steps} steps x ${burnMs} ms CPU (${((steps * burnMs) / 1000).toFixed(1)} s of CPU per job), ${os.cpus().length} CPUs, load average ${load()} before`);
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
