// Shared fixtures of the run-store and executor tests: plans built directly
// (no planner needed), temp dirs, and the CLI run as a real process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveJob } from '../../src/config/job.ts';
import type { Plan, PlannedJob } from '../../src/grid/types.ts';
import { shortId } from '../../src/util/canonical.ts';
import { readJsonl } from '../../src/runs/files.ts';
import type { JobConfig } from '../../src/config/job.ts';
import type { JobContext } from '../../src/runs/context.ts';
import { runJob } from '../../src/exec/testjob.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'rlgrid.js');

/** A code version for RLGRID_CODE_VERSION (tests never depend on this checkout's git state). */
export const CODE_A = JSON.stringify({ commit: 'a'.repeat(40), dirty: false, diff_hash: null });
export const CODE_B = JSON.stringify({ commit: 'b'.repeat(40), dirty: false, diff_hash: null });

export function job(index: number, labels: Record<string, string>, partial: Record<string, unknown>): PlannedJob {
  const config = resolveJob(partial as never);
  return { id: shortId(config), index, labels, config };
}

/** A plan with one job per seed on a `seed` axis (plus an optional second axis of step counts). */
export function seedPlan(name: string, seeds: number[], steps = 6, hash = 'h1'): Plan {
  return {
    version: 1,
    grid: { name, file: `/nonexistent/${name}.yaml`, hash },
    axes: ['seed'],
    jobs: seeds.map((seed, i) => job(i, { seed: String(seed) }, { seed, train: { steps }, eval: { every: 3 } })),
    duplicates: [],
    claims: [],
  };
}

export function tmpDir(prefix = 'rlgrid-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writePlan(dir: string, plan: Plan, file = `${plan.grid.name}.plan.json`): string {
  const f = path.join(dir, file);
  fs.writeFileSync(f, JSON.stringify(plan, null, 2));
  return f;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let cacheDir: string | undefined;
/** One cache directory per test process, removed when it exits. */
function testCacheDir(): string {
  if (!cacheDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-test-cache-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    cacheDir = dir;
  }
  return cacheDir;
}

/**
 * The environment of the CLI under test: the test runner, a fixed code version.
 * Add VALIDATE to check every manifest write against the schema (costs each
 * process about 0.3 s of ajv; tests also validate every manifest they read).
 */
export const VALIDATE = { RLGRID_VALIDATE_MANIFEST: '1' };
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RLGRID_JOB_RUNNER: 'test',
    RLGRID_TEST_STEP_MS: '2',
    RLGRID_CODE_VERSION: CODE_A,
    // CODE_A stays the same while the code changes: nothing cached under it may outlive this test process
    RLGRID_CACHE_DIR: testCacheDir(),
    NO_COLOR: '1',
  };
  delete env.RLGRID_RUNS_DIR;
  delete env.RLGRID_TEST_FAIL;
  delete env.RLGRID_TEST_EXEC_LOG;
  delete env.RLGRID_VALIDATE_MANIFEST;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Start `node bin/rlgrid.js ARGS` (the real CLI) without waiting. */
export function startCli(args: string[], env: NodeJS.ProcessEnv, opts: { detached?: boolean; cwd?: string } = {}): ChildProcess & { out: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd: opts.cwd ?? ROOT, detached: opts.detached, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  return Object.assign(child, { out });
}

export function waitCli(child: ReturnType<typeof startCli>): Promise<CliResult> {
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, ...child.out }));
  });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliResult> {
  return waitCli(startCli(args, env, { cwd }));
}

export function runCliSync(args: string[], env: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Lines of the executions side file (one per start of the test runner). */
export function executions(file: string): { id: string; seed: number; from_step: number; pid: number }[] {
  return readJsonl(file);
}

/** Every file under a directory, relative paths, sorted (temp files excluded). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith('.tmp')) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Run the test job in-process; `stopAfter` polls of shouldStop() return false before it says stop. */
export async function runTestJob(dir: string, config: JobConfig, stopAfter = Infinity): Promise<'done' | 'interrupted'> {
  let polls = 0;
  const ctx: JobContext = {
    runDir: dir,
    config,
    projectRoot: dir,
    cacheDir: dir,
    log: () => {},
    shouldStop: () => ++polls > stopAfter,
    recordEnvironment: () => {},
  };
  return runJob(ctx);
}


export const RESULT_FILES = ['metrics.jsonl', 'eval.jsonl', 'result.json'];
export const resultFiles = (dir: string): Record<string, string> =>
  Object.fromEntries(RESULT_FILES.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));

/** What an uninterrupted run of this config writes (the test runner in-process, no sleeping). */
const refCache = new Map<string, Record<string, string>>();
export async function reference(config: JobConfig): Promise<Record<string, string>> {
  const key = shortId(config);
  const hit = refCache.get(key);
  if (hit) return hit;
  // on tmpfs where there is one: the reference needs no durable fsyncs
  const d = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'rlgrid-ref-'));
  const saved = { ms: process.env.RLGRID_TEST_STEP_MS, fail: process.env.RLGRID_TEST_FAIL, log: process.env.RLGRID_TEST_EXEC_LOG };
  process.env.RLGRID_TEST_STEP_MS = '0';
  delete process.env.RLGRID_TEST_FAIL;
  delete process.env.RLGRID_TEST_EXEC_LOG;
  try {
    await runTestJob(d, config);
    refCache.set(key, resultFiles(d));
    return refCache.get(key)!;
  } finally {
    for (const [k, v] of [['RLGRID_TEST_STEP_MS', saved.ms], ['RLGRID_TEST_FAIL', saved.fail], ['RLGRID_TEST_EXEC_LOG', saved.log]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
}
