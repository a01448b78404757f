// `npm run bench -- startup`: how long a worker process takes to start, the
// part of every job that is not training (it weighs on short jobs and on the
// 2-worker speed-up). Medians of interleaved runs (A/B/A/B...) so that a
// shared machine's load hits each variant alike:
//
//   node                 `node -e 0`: Node itself, the floor
//   worker (bundle)      `rlgrid exec <missing dir>`: the CLI and the exec
//                        command loaded from the esbuild bundle (bin/bundle.js)
//                        up to reading the job directory, where it stops
//   worker (tsx)         the same through tsx (RLGRID_NO_BUNDLE=1), as before
//   GRPO runner (bundle) loading the GRPO job runner (trainer, engine,
//                        TensorFlow.js) from the bundle, which a worker does
//                        before its first step
//   GRPO runner (tsx)    the same from the sources (the @tensorflow/tfjs union package)
// Target: worker (bundle) < 150 ms.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundledEntry } from '../bin/bundle.js';

const BIN = fileURLToPath(new URL('../bin/rlgrid.js', import.meta.url));

function timeMs(args: string[], env: NodeJS.ProcessEnv): number {
  const t = performance.now();
  spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  return performance.now() - t;
}

export async function benchStartup(): Promise<void> {
  const reps = Number(process.env.RLGRID_BENCH_STARTUP_REPS ?? 9);
  const entry = await bundledEntry();
  if (!entry) console.log('  (the bundle could not be built: both worker lines run tsx)');
  const buildDir = entry ? path.dirname(fileURLToPath(entry)) : null;
  const jobChunk = buildDir ? fs.readdirSync(buildDir).find((f) => /^job-.*\.mjs$/.test(f)) : undefined;
  const jobSource = pathToFileURL(fileURLToPath(new URL('../src/grpo/job.ts', import.meta.url))).href;
  const missing = path.join(os.tmpdir(), `rlgrid-bench-startup-missing-${process.pid}`);
  fs.rmSync(missing, { recursive: true, force: true });
  const env = { ...process.env, NO_COLOR: '1', RLGRID_CODE_VERSION: JSON.stringify({ commit: 'bench', dirty: false, diff_hash: null }) };
  const variants: [string, string[], NodeJS.ProcessEnv][] = [
    ['node', ['-e', '0'], env],
    ['worker (bundle)', [BIN, 'exec', missing], { ...env, RLGRID_NO_BUNDLE: '0' }],
    ['worker (tsx)', [BIN, 'exec', missing], { ...env, RLGRID_NO_BUNDLE: '1' }],
    ...(jobChunk && buildDir
      ? ([['GRPO runner (bundle)', ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(path.join(buildDir, jobChunk)).href)})`], env]] as [string, string[], NodeJS.ProcessEnv][])
      : []),
    ['GRPO runner (tsx)', ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(jobSource)})`], env],
  ];
  const times: number[][] = variants.map(() => []);
  const load0 = os.loadavg()[0];
  for (let i = 0; i < reps; i++) variants.forEach(([, args, e], v) => times[v].push(timeMs(args, e)));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const [v, [name]] of variants.entries()) {
    const m = med(times[v]);
    const extra = name.startsWith('GRPO') ? ` (${(m - med(times[0])).toFixed(0)} ms over node)` : '';
    console.log(`  ${name.padEnd(20)} ${m.toFixed(0).padStart(5)} ms median of ${reps} (min ${Math.min(...times[v]).toFixed(0)})${extra}`);
  }
  const bundle = med(times[1]);
  console.log(`  worker start-up ${bundle.toFixed(0)} ms (target < 150)${bundle >= 150 ? '  ABOVE TARGET' : ''}; load average ${load0.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after, ${os.cpus().length} CPUs`);
}
