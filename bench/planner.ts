// Planner benchmark: a synthetic grid of 5 axes x 10 = 100,000 jobs, every job
// resolved, validated (job schema + consistency rules), hashed and deduped.
// Target: under 2 s. Run: npm run bench -- planner
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandGrid, planGrid } from '../src/grid/expand.ts';
import { UserError } from '../src/util/errors.ts';
import { getValidators } from '../src/grid/schema.ts';
import type { Grid } from '../src/grid/types.ts';

/** 4 list axes and one axis of named method variants, 10 entries each. */
export function syntheticGrid(perAxis = 10): Grid {
  const range = (f: (i: number) => number) => Array.from({ length: perAxis }, (_, i) => f(i));
  const methods: Record<string, Grid['base']> = {
    GRPO: {},
    'Clip-Higher': { train: { clip: { low: 0.2, high: 0.28 } } },
    'Clip-Lower': { train: { clip: { low: 0.28, high: 0.2 } } },
    'Clip-Free': { train: { clip: null } },
    'Ada-Ent-Reg': { train: { entropy_reg: { mode: 'adaptive', target: 0.2 } } },
    'Clip-Cov': { train: { policy_loss: { mode: 'clip-cov' } } },
    'KL-Cov': { train: { policy_loss: { mode: 'kl-cov' }, clip: null } },
    'Entropy-Adv': { train: { entropy_adv: { alpha: 0.4, kappa: 2 } } },
    'A>=0 only': { train: { token_weights: { schedule: 'fixed', positive: 1, negative: 0 } } },
    'Pos-Adv-Reweight': { train: { token_weights: { schedule: 'entropy-guided' } } },
  };
  const labels = Object.keys(methods).slice(0, perAxis);
  return {
    version: 1,
    name: 'bench',
    file: 'bench/synthetic.yaml',
    hash: '0'.repeat(64),
    base: { train: { steps: 200, prompts_per_batch: 32, group_size: 8 }, eval: { every: 20, samples: 16 } },
    axes: {
      method: { kind: 'variants', variants: Object.fromEntries(labels.map((l) => [l, methods[l]])) },
      'train.optimizer.lr': { kind: 'values', path: 'train.optimizer.lr', values: range((i) => 1e-4 * (i + 1)) },
      'rollout.temperature': { kind: 'values', path: 'rollout.temperature', values: range((i) => 0.5 + i / 10) },
      'eval.samples': { kind: 'values', path: 'eval.samples', values: range((i) => 8 + i) },
      seed: { kind: 'values', path: 'seed', values: range((i) => i + 1) },
    },
    zip: [],
    exclude: [],
    include: [],
    claims: [],
  };
}

export async function benchPlanner(): Promise<void> {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let t = performance.now();
  getValidators().jobFast; // ajv compile of the job schema, once per process
  const compileMs = performance.now() - t;
  const grid = syntheticGrid();
  // warm-up on a small grid so the timing below measures steady state, not JIT
  expandGrid(syntheticGrid(4));
  const runs: { wall: number; cpu: number }[] = [];
  let jobs = 0;
  for (let r = 0; r < 3; r++) {
    t = performance.now();
    const c = cpuMs();
    const plan = expandGrid(grid);
    runs.push({ wall: performance.now() - t, cpu: cpuMs() - c });
    jobs = plan.jobs.length;
  }
  runs.sort((a, b) => a.wall - b.wall);
  const best = runs[0];
  const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  console.log(`job schema compile: ${compileMs.toFixed(0)} ms`);
  console.log(`planned ${jobs.toLocaleString('en-US')} jobs (5 axes x 10: resolve, validate, canonical JSON, sha256, dedupe)`);
  console.log(`  wall: best ${s(best.wall)}, median ${s(runs[1].wall)}; cpu (this process): ${s(best.cpu)}`);
  console.log(`  ${Math.round(jobs / (best.wall / 1000)).toLocaleString('en-US')} jobs/s (wall, best run)`);
  console.log(`  target < 2 s: ${best.wall < 2000 ? 'ok' : best.cpu < 2000 ? 'MISSED on wall time (cpu time ok: the machine is busy?)' : 'MISSED'}`);
  benchRefuseHuge();
}

/** A grid file of 40 two-entry axes (2^40 jobs): load it and have the planner refuse it before expanding. */
function benchRefuseHuge(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-bench-'));
  try {
    const lines = ['version: 1', 'name: huge', 'axes:'];
    for (let i = 0; i < 40; i++) lines.push(`  a${i}:`, '    v0: {}', `    v1: {seed: ${i + 2}}`);
    const file = path.join(dir, 'huge.yaml');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const refuse = (): number => {
      const t = performance.now();
      try {
        planGrid(file, { root: dir });
      } catch (e) {
        if (e instanceof UserError && /over the limit/.test(e.message)) return performance.now() - t;
        throw e;
      }
      throw new Error('the 2^40-job grid was not refused');
    };
    const cold = refuse(); // the first grid this process loads: the grid schema's ajv compile included
    const warm = refuse();
    const t = performance.now();
    const cli = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'rlgrid.js'), 'validate', file], { encoding: 'utf8' });
    const cliMs = performance.now() - t;
    if (cli.status !== 2) throw new Error(`rlgrid validate: exit ${cli.status}: ${cli.stderr}`);
    console.log(`refuse a 2^40-job grid (40 axes x 2; load, count, refuse, --max-jobs 100000): first in a process ${cold.toFixed(0)} ms, again ${warm.toFixed(0)} ms; target < 1 s: ${cold < 1000 ? 'ok' : 'MISSED'}`);
    console.log(`  \`rlgrid validate\` on it, process start included: ${cliMs.toFixed(0)} ms, exit 2`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPlanner();
