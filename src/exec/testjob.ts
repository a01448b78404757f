// TEST-ONLY job runner, selected by RLGRID_JOB_RUNNER=test. A deterministic
// fake trainer that behaves like the GRPO job towards the executor: it writes
// metrics.jsonl / eval.jsonl / result.json, checkpoints (step + RNG state)
// atomically after every step, resumes from checkpoints/last, and stops at a
// step boundary when asked. Its numbers come from the config's seed through
// Rng, so an interrupted-and-resumed job writes the same bytes as one that ran
// straight through.
//
// Knobs (environment variables, test-only):
//   RLGRID_TEST_STEP_MS   sleep per step in ms (default 2)
//   RLGRID_TEST_BURN_MS   fixed CPU work per step, about this many ms (default 0; bench/parallel.ts):
//                         the same work whatever the load, so speed-ups measure real parallelism
//   RLGRID_TEST_EXEC_LOG  file to which every start of the runner appends one JSON line
//                         {"id", "seed", "from_step", "pid"} (counts executions)
//   RLGRID_TEST_FAIL      comma-separated faults "SEED:KIND@STEP" for the job with that seed:
//                           throw       throws an Error at STEP (-> failed, reason = message)
//                           throw-once  throws at STEP on the first attempt only (a marker file
//                                       .testjob-threw-<STEP> in the run dir remembers it)
//                           nan         the loss of STEP is NaN (-> failed "non-finite loss")
//                           exit        process.exit(3) at STEP (-> failed "exited with code 3")
//                           kill        SIGKILL itself at STEP (-> failed "killed by signal SIGKILL")
//                         e.g. RLGRID_TEST_FAIL="3:throw@2,4:nan@1"
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobRunner } from '../runs/context.ts';
import { appendJsonl, readJson, truncateJsonl, writeJsonAtomic } from '../runs/files.ts';
import { checkpointDir, jobPath } from '../runs/layout.ts';
import { Rng } from '../util/rng.ts';

export type FaultKind = 'throw' | 'throw-once' | 'nan' | 'exit' | 'kill';
export interface Fault {
  seed: number;
  kind: FaultKind;
  step: number;
}

const KINDS: readonly FaultKind[] = ['throw', 'throw-once', 'nan', 'exit', 'kill'];

export function parseFaults(spec: string | undefined): Fault[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\d+):([a-z-]+)@(\d+)$/.exec(s);
      if (!m || !KINDS.includes(m[2] as FaultKind)) throw new Error(`RLGRID_TEST_FAIL: bad fault "${s}" (SEED:KIND@STEP, KIND in ${KINDS.join('|')})`);
      return { seed: Number(m[1]), kind: m[2] as FaultKind, step: Number(m[3]) };
    });
}

interface Checkpoint {
  step: number;
  rng: number[];
  entropy_ema: number | null;
}

/** Fixed CPU work: `ms` units of 500k LCG iterations (about a millisecond each on a current x86 core). */
export function burn(ms: number): number {
  let x = 1;
  for (let i = 0, n = Math.round(ms * 500_000); i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

export const runJob: JobRunner = async (ctx) => {
  const { runDir, config } = ctx;
  const stepMs = Number(process.env.RLGRID_TEST_STEP_MS ?? 2);
  const burnMs = Number(process.env.RLGRID_TEST_BURN_MS ?? 0);
  const faults = parseFaults(process.env.RLGRID_TEST_FAIL).filter((f) => f.seed === config.seed);
  const metricsFile = jobPath(runDir, 'metrics');
  const evalFile = jobPath(runDir, 'eval');
  const ckptFile = path.join(checkpointDir(runDir, 'last'), 'state.json');
  ctx.recordEnvironment({ tfjsVersion: null, backend: 'test', simd: false, threads: 1 });

  const ckpt = fs.existsSync(ckptFile) ? readJson<Checkpoint>(ckptFile) : null;
  const from = ckpt?.step ?? 0;
  // Whatever was written after the checkpoint is redone (a torn line included).
  truncateJsonl<{ step: number }>(metricsFile, (r) => r.step <= from);
  truncateJsonl<{ step: number }>(evalFile, (r) => from > 0 && r.step <= from);
  const rng = ckpt ? Rng.fromState(ckpt.rng) : Rng.derived(config.seed, 'testjob');
  let ema = ckpt?.entropy_ema ?? null;
  if (process.env.RLGRID_TEST_EXEC_LOG)
    fs.appendFileSync(
      process.env.RLGRID_TEST_EXEC_LOG,
      JSON.stringify({ id: path.basename(runDir), seed: config.seed, from_step: from, pid: process.pid }) + '\n',
    );
  ctx.log(from > 0 ? `test job: resuming at step ${from + 1}/${config.train.steps}` : `test job: ${config.train.steps} steps`);
  if (from === 0) appendJsonl(evalFile, { step: 0, probe_entropy: 1 });

  const steps = config.train.steps;
  for (let step = from + 1; step <= steps; step++) {
    if (ctx.shouldStop()) {
      ctx.log(`test job: stopping before step ${step} (checkpoint at ${step - 1})`);
      return 'interrupted';
    }
    for (const f of faults.filter((f) => f.step === step)) {
      if (f.kind === 'throw') throw new Error(`test job: injected failure at step ${step}`);
      if (f.kind === 'throw-once') {
        const marker = path.join(runDir, `.testjob-threw-${step}`);
        if (!fs.existsSync(marker)) {
          fs.writeFileSync(marker, '');
          throw new Error(`test job: injected one-time failure at step ${step}`);
        }
      }
      if (f.kind === 'exit') process.exit(3);
      if (f.kind === 'kill') process.kill(process.pid, 'SIGKILL');
    }
    const loss = faults.some((f) => f.kind === 'nan' && f.step === step) ? NaN : 1 / step + 0.1 * rng.normal();
    const entropy = 0.5 * Math.exp(-step / steps) + 0.05 * rng.float();
    const score = rng.float();
    if (!Number.isFinite(loss)) throw new Error(`non-finite loss (${loss}) at step ${step}`);
    ema = ema === null ? entropy : 0.6 * ema + 0.4 * entropy;
    if (burnMs > 0) burn(burnMs);
    if (stepMs > 0) await sleep(stepMs);
    appendJsonl(metricsFile, {
      step,
      'actor/entropy': entropy,
      'actor/entropy_ema': ema,
      'actor/pg_loss': loss,
      'critic/score/mean': score,
    });
    if (step % config.eval.every === 0 || step === steps) appendJsonl(evalFile, { step, probe_entropy: entropy });
    writeJsonAtomic(ckptFile, { step, rng: rng.state(), entropy_ema: ema } satisfies Checkpoint);
  }
  writeJsonAtomic(jobPath(runDir, 'result'), { status: 'done', steps, final: { entropy_ema: ema } });
  ctx.log('test job: done');
  return 'done';
};
