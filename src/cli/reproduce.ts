// `rlgrid reproduce RUN`: run a finished job again from its frozen config in a
// scratch run directory and compare the two step by step (metrics.jsonl, and
// eval.jsonl at the steps both have). Same environment (backend, SIMD,
// threads, tfjs, rlgrid version and code, Node, platform, CPU model): the
// reproduction must be bit-exact. Another environment: every number must agree
// within a relative tolerance. Exit 0 bit-exact or within tolerance, 1
// different (or the reproduction failed), 2 bad input, 130 interrupted.
//
// `--steps N` compares the first N steps only. The job runs with its config
// unchanged (train.steps included, so learning-rate and token-weight schedules
// that depend on it are the original's) and is stopped after step N.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { CompareResult } from '../report/compare.ts';
import type { EvalRow, JobRecord, MetricRow } from '../report/types.ts';
import type { JOB_FILES } from '../runs/layout.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from '../util/exit-codes.ts';
import { action, projectRoot, runsDir, runsDirOption } from './common.ts';

export const DEFAULT_TOLERANCE = 1e-6;

interface ReproduceOpts {
  steps?: string;
  tolerance?: string;
  out?: string;
  keep?: boolean;
  json?: boolean;
  runsDir?: string;
}

/** One fact of the environment that can change the numbers. */
export interface EnvFact {
  key: string;
  original: unknown;
  reproduction: unknown;
}

/**
 * What the two manifests say about where the numbers were made: the backend
 * the job reported (with SIMD, threads, tfjs version), the base model's
 * content hash, rlgrid's version and
 * code (fingerprint, or commit where either run lacks one, and uncommitted
 * diff), Node, OS and architecture, CPU model.
 */
export function environmentFacts(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): EnvFact[] {
  const env = (m: Record<string, unknown> | undefined) => (m?.environment ?? {}) as Record<string, unknown>;
  const code = (m: Record<string, unknown> | undefined) => (m?.code ?? {}) as Record<string, unknown>;
  // "linux-x64 6.8.0-...": the kernel release does not change what V8 and tfjs compute
  const platform = (m: Record<string, unknown> | undefined) => (typeof m?.platform === 'string' ? m.platform.split(' ')[0] : m?.platform);
  // Facts an older rlgrid did not record (the base model's hash, the code
  // fingerprint) are compared only when the original has them.
  const optional = new Set(['base model', 'code']);
  // With a code fingerprint on both sides the commit says nothing more about
  // the numbers (a docs-only commit leaves the fingerprint equal), so it is
  // not compared: equal fingerprints keep the bit-exact standard.
  const bothTrees = code(a).tree != null && code(b).tree != null;
  const pick: [string, (m: Record<string, unknown> | undefined) => unknown][] = [
    ['backend', (m) => env(m).backend],
    ['simd', (m) => env(m).simd],
    ['threads', (m) => env(m).threads],
    ['tfjs', (m) => env(m).tfjsVersion],
    ['base model', (m) => env(m).model_sha256],
    ['rlgrid', (m) => m?.rlgrid_version],
    ['commit', (m) => code(m).commit],
    ['code', (m) => code(m).tree],
    ['uncommitted diff', (m) => code(m).diff_hash],
    ['node', (m) => m?.node_version],
    ['platform', platform],
    ['cpu', (m) => m?.cpu_model],
  ];
  return pick
    .filter(([key, get]) => (!optional.has(key) || get(a) != null) && !(key === 'commit' && bothTrees))
    .map(([key, get]) => ({ key, original: get(a) ?? null, reproduction: get(b) ?? null }));
}

const same = (f: EnvFact): boolean => JSON.stringify(f.original) === JSON.stringify(f.reproduction);

/** An eval.jsonl line as one flat row: every number (and null) by its dotted path, array items as path[i]. */
export function flattenEval(row: EvalRow | Record<string, unknown>): MetricRow {
  const out: MetricRow = {};
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'number' || v === null) out[key] = v;
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${key}[${i}]`));
    else if (typeof v === 'object' && v !== undefined) for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, key ? `${key}.${k}` : k);
  };
  walk(row, '');
  return out;
}

/** The largest relative difference |a - b| / max(|a|, |b|) between paired numbers (Infinity for a missing or non-finite mismatch). */
export function maxRelativeDifference(a: readonly MetricRow[], b: readonly MetricRow[], ignore: (key: string) => boolean): { rel: number; step: number | null; key: string | null } {
  const bySteps = (rows: readonly MetricRow[]) => new Map(rows.map((r, i) => [typeof r.step === 'number' ? r.step : i + 1, r]));
  const ma = bySteps(a);
  const mb = bySteps(b);
  let best = { rel: 0, step: null as number | null, key: null as string | null };
  for (const step of new Set([...ma.keys(), ...mb.keys()])) {
    const ra = ma.get(step) ?? {};
    const rb = mb.get(step) ?? {};
    for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      if (key === 'step' || ignore(key)) continue;
      const x = ra[key];
      const y = rb[key];
      if (Object.is(x, y)) continue;
      let rel: number;
      if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) rel = Infinity;
      else rel = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)) || 0; // 0 vs -0: 0/0
      if (rel > best.rel) best = { rel, step, key };
    }
  }
  return best;
}

export interface Comparison {
  source: (typeof JOB_FILES)['metrics' | 'eval'];
  rows: number;
  result: CompareResult;
}

type Verdict = CompareResult['verdict'];
const RANK: Record<Verdict, number> = { 'bit-exact': 0, 'within-tolerance': 1, different: 2 };

/** Rows of a series up to step n (and eval rows only at steps the other side could have). */
const upTo = (rows: readonly MetricRow[], n: number): MetricRow[] => rows.filter((r) => typeof r.step === 'number' && r.step <= n);

const fmt = (v: number | null | undefined): string => (v === undefined ? '(absent)' : String(v));

/** A directory under the current one as a relative path (as `rlgrid diff` shows them). */
function shown(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

/** Run the job of `record` again in `dir` (a fresh scratch store); returns the exec exit code. */
async function runAgain(record: JobRecord, scratch: string, n: number, log: (line: string) => void): Promise<{ code: number; dir: string }> {
  const { ensureJobDir, lastStep, openStore } = await import('../runs/store.ts');
  const { execJob } = await import('../exec/worker.ts');
  const { shortId } = await import('../util/canonical.ts');
  const config = record.config!;
  const id = /^[0-9a-f]{6,64}$/.test(record.id) ? record.id : shortId(config);
  const dir = ensureJobDir(openStore(scratch), { id, config });
  const base = await (await import('./job-runner.ts')).chooseJobRunner();
  const steps = config.train.steps;
  const code = await execJob(dir, {
    projectRoot: projectRoot(),
    // a cache of its own: the reproduction computes everything again (the
    // base-model evaluation, embeddings, K-means) rather than read the original's
    cacheDir: path.join(scratch, '.cache'),
    out: log,
    // --steps N: the config stays as it was; the job is stopped at the boundary after step N
    loadRunner: async () => (n >= steps ? base : (ctx) => base({ ...ctx, shouldStop: () => ctx.shouldStop() || lastStep(ctx.runDir) >= n })),
  });
  return { code, dir };
}

export async function reproduceCommand(run: string, opts: ReproduceOpts): Promise<number> {
  const tolerance = opts.tolerance === undefined ? DEFAULT_TOLERANCE : Number(opts.tolerance);
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new UserError(`--tolerance must be a number >= 0, got "${opts.tolerance}"`);
  let n: number | undefined;
  if (opts.steps !== undefined) {
    n = Number(opts.steps);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`--steps must be an integer >= 1, got "${opts.steps}"`);
  }
  const { loadRun, readJob } = await import('../report/load.ts');
  const { JOB_FILES } = await import('../runs/layout.ts');
  const { compareRuns } = await import('../report/compare.ts');
  const { resolveRunArg } = await import('./grid-arg.ts');
  const arg = loadRun(await resolveRunArg(run, runsDir(opts.runsDir)), runsDir(opts.runsDir));
  if (arg.kind !== 'job') throw new UserError(`${run} is a grid; reproduce re-runs one job (a run directory, a job id, or ${arg.name}:axis=label)`);
  const orig = arg.record;
  if (!orig.config || !orig.dir) throw new UserError(`${run}: no config.json in ${orig.dir ?? 'its run directory'}`);
  const steps = orig.config.train.steps;
  const lastOrig = orig.metrics.reduce((m, r) => (typeof r.step === 'number' && r.step > m ? r.step : m), 0);
  const upto = n ?? steps;
  if (upto > steps) throw new UserError(`--steps ${upto}: job ${orig.id} has ${steps} steps`);
  if (orig.status === 'corrupt') throw new UserError(`job ${orig.id} is corrupt: ${orig.problem ?? 'its files contradict its manifest'}; nothing to compare`);
  if (orig.status !== 'done' && n === undefined)
    throw new UserError(`job ${orig.id} is ${orig.status} (last step ${lastOrig} of ${steps}): reproduce compares a finished job, or its first N steps with --steps N`);
  if (lastOrig < upto) throw new UserError(`job ${orig.id} has metrics up to step ${lastOrig}: cannot compare ${upto} steps`);

  // the scratch run directory
  let scratch: string;
  let created = true;
  if (opts.out) {
    scratch = path.resolve(opts.out);
    if (fs.existsSync(scratch)) {
      if (!fs.statSync(scratch).isDirectory() || fs.readdirSync(scratch).length > 0) throw new UserError(`--out ${opts.out}: exists and is not an empty directory`);
      created = false;
    } else fs.mkdirSync(scratch, { recursive: true });
  } else scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-reproduce-'));
  const cleanup = (): void => {
    if (opts.keep) return;
    if (created) fs.rmSync(scratch, { recursive: true, force: true });
    else for (const e of fs.readdirSync(scratch)) fs.rmSync(path.join(scratch, e), { recursive: true, force: true });
  };

  const say = (line: string): void => {
    process.stderr.write(line + '\n');
  };
  const labels = Object.entries(orig.labels).map(([k, v]) => `${k}=${v}`).join(',');
  say(`reproducing job ${orig.id}${labels ? ` (${labels})` : ''}: ${upto === steps ? `all ${steps} steps` : `steps 1-${upto} of ${steps}`} in ${scratch}`);
  let repro: JobRecord;
  let execCode: number;
  try {
    const r = await runAgain(orig, scratch, upto, say);
    execCode = r.code;
    repro = readJob(r.dir, { id: orig.id, labels: orig.labels });
  } catch (e) {
    cleanup();
    throw e;
  }
  const lastRepro = repro.metrics.reduce((m, r) => (typeof r.step === 'number' && r.step > m ? r.step : m), 0);
  if (repro.status === 'failed' || lastRepro < upto) {
    const how =
      repro.status === 'failed'
        ? `failed: ${String(repro.manifest?.reason ?? `see its ${JOB_FILES.log}`)}`
        : `stopped at step ${lastRepro} of ${upto} (${String(repro.manifest?.reason ?? repro.status)})`;
    cleanup();
    if (opts.json) {
      const { jobRef, printData } = await import('./json.ts');
      printData('reproduce', { job: jobRef(orig), verdict: null, reproduction_status: repro.status, reason: repro.manifest?.reason ?? null, steps: upto });
    } else
      process.stdout.write(`reproduction of ${orig.id} ${how}${opts.keep ? `; kept in ${repro.dir}` : ' (--keep keeps its run directory)'}\n`);
    return repro.status === 'failed' || execCode !== EXIT_INTERRUPTED ? EXIT_FAILED : EXIT_INTERRUPTED;
  }

  // which standard: bit-exact in the same environment, the tolerance otherwise
  const env = environmentFacts(orig.manifest, repro.manifest);
  const envDiff = env.filter((f) => !same(f));
  const tol = envDiff.length === 0 ? 0 : tolerance;
  const evalRows = (r: JobRecord) => upTo(r.evals.map(flattenEval), upto);
  const comparisons: Comparison[] = [
    { source: JOB_FILES.metrics, rows: upTo(orig.metrics, upto).length, result: compareRuns(upTo(orig.metrics, upto), upTo(repro.metrics, upto), { tolerance: tol }) },
    { source: JOB_FILES.eval, rows: evalRows(orig).length, result: compareRuns(evalRows(orig), evalRows(repro), { tolerance: tol }) },
  ];
  const verdict = comparisons.reduce<Verdict>((v, c) => (RANK[c.result.verdict] > RANK[v] ? c.result.verdict : v), 'bit-exact');
  const timeKey = (k: string) => k.startsWith('time/');
  const rels = [
    { source: JOB_FILES.metrics, ...maxRelativeDifference(upTo(orig.metrics, upto), upTo(repro.metrics, upto), timeKey) },
    { source: JOB_FILES.eval, ...maxRelativeDifference(evalRows(orig), evalRows(repro), timeKey) },
  ];
  const maxRel = rels.reduce((a, b) => (b.rel > a.rel ? b : a));
  // the first difference: the earliest step over both files (metrics first at a tie)
  const firsts = comparisons
    .map((c) => ({ source: c.source, d: verdict === 'different' ? c.result.beyond : c.result.exact }))
    .filter((x): x is { source: Comparison['source']; d: NonNullable<CompareResult['beyond']> } => x.d !== null);
  const first = firsts.sort((a, b) => a.d.step - b.d.step)[0] ?? null;
  cleanup();

  if (opts.json) {
    const { jobRef, printData } = await import('./json.ts');
    printData('reproduce', {
      job: jobRef(orig),
      original: orig.dir,
      reproduction: opts.keep ? repro.dir : null,
      steps: upto,
      of_steps: steps,
      environment: { same: envDiff.length === 0, facts: env, differences: envDiff.map((f) => f.key) },
      required: envDiff.length === 0 ? 'bit-exact' : 'within-tolerance',
      tolerance: tol,
      verdict,
      max_relative_difference: maxRel.rel === Infinity ? null : maxRel.rel,
      first_difference: first ? { source: first.source, step: first.d.step, key: first.d.key, original: first.d.a ?? null, reproduction: first.d.b ?? null } : null,
      comparisons: comparisons.map((c) => ({ source: c.source, rows: c.rows, ...c.result })),
    });
  } else {
    const lines: string[] = [];
    lines.push(`job ${orig.id}${labels ? ` (${labels})` : ''}: ${shown(orig.dir)}`);
    if (envDiff.length === 0) {
      const e = Object.fromEntries(env.map((f) => [f.key, f.original]));
      const code = e.code != null ? `code ${String(e.code).slice(0, 12)}` : `commit ${String(e.commit ?? '?').slice(0, 12)}`;
      lines.push(`environment: same (backend ${e.backend}, rlgrid ${e.rlgrid}, ${code}${e['uncommitted diff'] ? ' + uncommitted changes' : ''}, node ${e.node}, ${e.cpu}): bit-exact required`);
    } else {
      lines.push(`environment differs: ${envDiff.map((f) => `${f.key} ${JSON.stringify(f.original)} -> ${JSON.stringify(f.reproduction)}`).join('; ')}`);
      lines.push(`  so every number must agree within ${tolerance} (relative), not bit for bit`);
    }
    for (const c of comparisons) {
      const what = `${c.source} (${c.rows} ${c.source === JOB_FILES.eval ? 'evaluations' : 'steps'})`;
      const r = c.result;
      if (r.verdict === 'bit-exact') lines.push(`${what}: bit-exact`);
      else if (r.verdict === 'within-tolerance') {
        const d = r.exact!;
        lines.push(`${what}: within tolerance; first inexact at step ${d.step}, ${d.key}: ${fmt(d.a)} (original) vs ${fmt(d.b)} (reproduction)`);
      } else {
        const d = r.beyond!;
        lines.push(`${what}: different at step ${d.step}, ${d.key}: ${fmt(d.a)} (original) vs ${fmt(d.b)} (reproduction)`);
      }
    }
    if (verdict === 'bit-exact') lines.push(`verdict: bit-exact (${upto} of ${steps} steps)`);
    else if (verdict === 'within-tolerance')
      lines.push(`verdict: within-tolerance: max relative difference ${maxRel.rel.toExponential(3)} (step ${maxRel.step}, ${maxRel.source} ${maxRel.key}) <= ${tolerance}`);
    else
      lines.push(
        `verdict: different: first at step ${first!.d.step}, ${first!.source} ${first!.d.key}: ${fmt(first!.d.a)} (original) vs ${fmt(first!.d.b)} (reproduction)` +
          (envDiff.length ? `; max relative difference ${maxRel.rel === Infinity ? 'inf' : maxRel.rel.toExponential(3)}` : ''),
      );
    if (opts.keep) lines.push(`reproduction kept in ${repro.dir}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return verdict === 'different' ? EXIT_FAILED : EXIT_OK;
}

export function register(program: Command): void {
  program
    .command('reproduce')
    .description('run a finished job again from its frozen config in a scratch directory and compare metrics step by step (bit-exact in the same environment)')
    .argument('<run>', 'run directory, job id (or a unique prefix), or GRID:axis=label[,axis=label]')
    .option('--steps <n>', 'compare only the first n steps (the job runs with its own config and stops after step n)')
    .option('--tolerance <rel>', `relative tolerance when the environment differs (backend, CPU, Node, code...) (default ${DEFAULT_TOLERANCE})`)
    .option('--out <dir>', 'scratch directory (absent or empty; default a new one under the system temp directory)')
    .option('--keep', 'keep the scratch directory')
    .option('--json', 'print the comparison as JSON')
    .addOption(runsDirOption())
    .action(
      action(async (run: string, opts: ReproduceOpts) => {
        try {
          if (process.env.RLGRID_VALIDATE_MANIFEST === '1') (await import('../runs/schema.ts')).enableManifestValidation();
          return await reproduceCommand(run, opts);
        } finally {
          // as exec: a handle the job runner left open (a thread pool) must not keep the process alive
          setTimeout(() => process.exit(), 200).unref();
        }
      }),
    );
}
