// Fixture run directories for the report tests, written through the run
// store (freezePlan + manifests) and filled with metrics.jsonl, eval.jsonl and
// result.json in the trainer's format (docs/run-format.md). Every number is a
// closed-form function of (method, seed, step), in integer thousandths, so the
// expected tables can be worked out by hand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveJob, type JobConfig } from '../../src/config/job.ts';
import type { Claim, Labels, Plan, PlannedJob, TableSpec } from '../../src/grid/types.ts';
import { emaSeries } from '../../src/metrics/ema.ts';
import { appendJsonl, writeJsonAtomic } from '../../src/runs/files.ts';
import { readManifest, writeManifest } from '../../src/runs/manifest.ts';
import { freezePlan, jobDir, openStore, type Store } from '../../src/runs/store.ts';
import type { EvalRow, MetricRow, Result } from '../../src/report/types.ts';
import { shortId } from '../../src/util/canonical.ts';
import type { Json } from '../../src/util/objects.ts';

export function tmpDir(prefix = 'rlgrid-report-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface FixtureJob {
  labels: Labels;
  patch: Json;
  /** how the job ended; 'missing' writes no files (not even config.json) */
  outcome: 'done' | 'failed' | 'pending' | 'missing';
  /** index of the variant in the closed-form world */
  mi: number;
  seed: number;
  subsetSize?: number;
}

const BENCHES: { name: string; domain: 'id' | 'ood' }[] = [
  { name: 'id-val', domain: 'id' },
  { name: 'id-hard', domain: 'id' },
  { name: 'ood-logic', domain: 'ood' },
];

/** Scores in thousandths at an evaluation step; monotone except ood-logic of seed 1, which ties at steps 10 and 30. */
export function scoreMilli(bench: string, what: 'avg' | 'pass', mi: number, seed: number, step: number): number {
  const s = seed - 2;
  switch (`${bench}/${what}`) {
    case 'id-val/avg':
      return 250 + 50 * mi + 10 * s + 4 * step;
    case 'id-val/pass':
      return 600 + 50 * mi + 20 * s + 5 * step;
    case 'id-hard/avg':
      return 100 + 20 * mi + 10 * s + 2 * step;
    case 'id-hard/pass':
      return 300 + 30 * mi + 20 * s + 4 * step;
    case 'ood-logic/avg':
      return 200 - 10 * mi + 5 * s + step + (step === 10 && seed === 1 ? 20 : 0);
    default: // ood-logic/pass
      return 400 + 10 * mi + 10 * s + 2 * step;
  }
}

/** actor/entropy at a training step, in ten-thousandths: GRPO (mi 0) falls fastest. */
export const entropyTenK = (mi: number, seed: number, step: number): number => 9000 - (100 - 20 * mi) * step + 30 * seed;
/** probe entropy at an evaluation step, in ten-thousandths. */
export const probeTenK = (mi: number, seed: number, step: number): number => 9500 - (120 - 20 * mi) * step + 20 * seed;

const STEPS = 30;
const EVAL_EVERY = 10;

export function metricsRows(mi: number, seed: number, upTo = STEPS): MetricRow[] {
  const rows: MetricRow[] = [];
  let ema: number[] = [];
  const hs: number[] = [];
  for (let t = 1; t <= upTo; t++) {
    const h = entropyTenK(mi, seed, t) / 10000;
    hs.push(h);
    ema = emaSeries(hs);
    rows.push({
      step: t,
      'actor/entropy': h,
      'actor/entropy_ema': ema[ema.length - 1],
      'actor/pg_clipfrac': (2 * mi + t) / 1000,
      'critic/score/mean': (200 + 5 * t + 10 * mi) / 1000,
      'probe/entropy_delta': t === 1 ? null : (entropyTenK(mi, seed, t) - entropyTenK(mi, seed, t - 1)) / 10000,
      'time/step_s': 0.25 + (t % 3) / 100,
    });
  }
  return rows;
}

export function evalRows(mi: number, seed: number): EvalRow[] {
  const rows: EvalRow[] = [];
  for (let step = 0; step <= STEPS; step += EVAL_EVERY) {
    const benchmarks: EvalRow['benchmarks'] = {};
    for (const b of BENCHES)
      benchmarks[b.name] = {
        domain: b.domain,
        n: 4,
        k: 4,
        avg_at_k: scoreMilli(b.name, 'avg', mi, seed, step) / 1000,
        pass_at_k: scoreMilli(b.name, 'pass', mi, seed, step) / 1000,
        ngram_diversity: { '1': 0.1, '2': 0.2, '3': 0.3, '4': 0.4, mean: (250 + 10 * mi + step) / 1000 },
        self_bleu: 0.7,
      };
    rows.push({ step, probe_entropy: probeTenK(mi, seed, step) / 10000, probe_answer_entropy: 1.2, benchmarks });
  }
  return rows;
}

export function resultOf(mi: number, seed: number, subsetSize = 1000): Result {
  const evals = evalRows(mi, seed);
  const best = evals.reduce((a, b) => (b.benchmarks['id-val'].avg_at_k > a.benchmarks['id-val'].avg_at_k ? b : a));
  const sel = (name: string) => ({ domain: best.benchmarks[name].domain, avg_at_k: best.benchmarks[name].avg_at_k, pass_at_k: best.benchmarks[name].pass_at_k });
  const ids = ['id-val', 'id-hard'];
  const metrics = metricsRows(mi, seed);
  const probes = evals.map((e) => e.probe_entropy as number);
  return {
    status: 'done',
    steps: STEPS,
    best_step: best.step,
    selected: {
      step: best.step,
      benchmarks: Object.fromEntries(BENCHES.map((b) => [b.name, sel(b.name)])),
      average_id: {
        avg_at_k: (ids.reduce((a, n) => a + scoreMilli(n, 'avg', mi, seed, best.step), 0) / ids.length) / 1000,
        pass_at_k: (ids.reduce((a, n) => a + scoreMilli(n, 'pass', mi, seed, best.step), 0) / ids.length) / 1000,
      },
      average_ood: { avg_at_k: best.benchmarks['ood-logic'].avg_at_k, pass_at_k: best.benchmarks['ood-logic'].pass_at_k },
    },
    final: {
      entropy_ema: metrics[metrics.length - 1]['actor/entropy_ema'] as number,
      probe_entropy: probes[probes.length - 1],
      probe_entropy_last3: probes.slice(-3).reduce((a, b) => a + b, 0) / 3,
    },
    base: { probe_entropy: probes[0] },
    subset_size: subsetSize,
  };
}

export interface Fixture {
  runs: string;
  store: Store;
  plan: Plan;
  dirOf: (labels: Labels) => string;
}

const BASE: Json = { train: { steps: STEPS }, eval: { every: EVAL_EVERY, samples: 4 } };

/** Write a grid's plan and run directories under `runs`. */
export function writeFixture(
  runs: string,
  name: string,
  axes: string[],
  jobs: FixtureJob[],
  extra: { claims?: Claim[]; table?: TableSpec } = {},
): Fixture {
  const store = openStore(runs);
  const planned: PlannedJob[] = jobs.map((j, index) => {
    const config: JobConfig = resolveJob(mergeDeep(BASE, j.patch));
    return { id: shortId(config), index, labels: j.labels, config };
  });
  const plan: Plan = {
    version: 1,
    grid: { name, file: `/fixtures/${name}.yaml`, hash: 'f'.repeat(64) },
    axes,
    jobs: planned,
    duplicates: [],
    claims: extra.claims ?? [],
    ...(extra.table ? { table: extra.table } : {}),
  };
  freezePlan(store, plan);
  jobs.forEach((j, i) => fillJob(jobDir(store, planned[i].id), j));
  const dirOf = (labels: Labels) => {
    const k = planned.find((p) => Object.entries(labels).every(([a, v]) => p.labels[a] === v));
    if (!k) throw new Error(`no fixture job ${JSON.stringify(labels)}`);
    return jobDir(store, k.id);
  };
  return { runs, store, plan, dirOf };
}

/** Write a job's results into its (frozen) directory as the trainer would, ending as `outcome`. */
export function fillJob(dir: string, j: Pick<FixtureJob, 'outcome' | 'mi' | 'seed' | 'subsetSize'>): void {
  if (j.outcome === 'missing') {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (j.outcome === 'pending') return;
  const m = readManifest(dir)!;
  const env = { backend: 'wasm', tfjs_version: '4.22.0', threads: 1, simd: true };
  const ended = { status: j.outcome, attempts: 1, environment: env, code: { commit: 'c0ffee0', dirty: false, diff_hash: null }, started_at: '2025-01-01T00:00:00.000Z', ended_at: '2025-01-01T00:01:10.000Z' };
  if (j.outcome === 'failed') {
    for (const r of metricsRows(j.mi, j.seed, 11)) appendJsonl(path.join(dir, 'metrics.jsonl'), r);
    writeManifest(dir, { ...m, ...ended, reason: 'NaN loss at step 12' });
    return;
  }
  for (const r of metricsRows(j.mi, j.seed)) appendJsonl(path.join(dir, 'metrics.jsonl'), r);
  for (const r of evalRows(j.mi, j.seed)) appendJsonl(path.join(dir, 'eval.jsonl'), r);
  writeJsonAtomic(path.join(dir, 'result.json'), resultOf(j.mi, j.seed, j.subsetSize));
  writeManifest(dir, { ...m, ...ended });
}

function mergeDeep(a: Json, b: Json): Json {
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out: Record<string, Json> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeDeep(out[k], v) : v;
  return out;
}

export const METHODS: { label: string; patch: Json }[] = [
  { label: 'GRPO', patch: {} },
  { label: 'Clip-Higher', patch: { train: { clip: { low: 0.2, high: 0.28 } } } },
  { label: 'Clip-Free', patch: { train: { clip: null } } },
  { label: 'Entropy-Adv', patch: { train: { entropy_adv: { alpha: 0.4 } } } },
];

/**
 * The main fixture grid "methods": 4 methods x 3 seeds. Clip-Free's seed 3
 * failed at step 12; Entropy-Adv never ran (no directories).
 */
export function methodsFixture(runs: string, extra: { claims?: Claim[]; table?: TableSpec } = {}): Fixture {
  const jobs: FixtureJob[] = [];
  METHODS.forEach((m, mi) => {
    for (const seed of [1, 2, 3]) {
      const outcome = m.label === 'Entropy-Adv' ? 'missing' : m.label === 'Clip-Free' && seed === 3 ? 'failed' : 'done';
      jobs.push({ labels: { method: m.label, seed: String(seed) }, patch: mergeDeep(m.patch, { seed }), outcome, mi, seed });
    }
  });
  return writeFixture(runs, 'methods', ['method', 'seed'], jobs, { table: { layout: 'table2', rows: 'method', columns: 'benchmarks', cell: 'avg@k / pass@k' }, ...extra });
}

/** Grid "subsets": K-means and random subsets of two sizes, 2 seeds each, rows from the jobs' configs. */
export function subsetsFixture(runs: string): Fixture {
  const jobs: FixtureJob[] = [];
  const variants = [
    { label: 'kmeans-500', method: 'kmeans', size: 500, got: 512, mi: 0 },
    { label: 'random-500', method: 'random', size: 500, got: 500, mi: 1 },
    { label: 'kmeans-250', method: 'kmeans', size: 250, got: 247, mi: 2 },
  ];
  for (const v of variants)
    for (const seed of [1, 2])
      jobs.push({
        labels: { data: v.label, seed: String(seed) },
        patch: { seed, data: { subset: { method: v.method, size: v.size } } },
        outcome: 'done',
        mi: v.mi,
        seed,
        subsetSize: v.got,
      });
  return writeFixture(runs, 'subsets', ['data', 'seed'], jobs, { table: { layout: 'table3', rows: '' } });
}
