// `npm run bench -- model`: speed of the GRPO core's tensor engine on
// bench/torch_ref.py's shape (vocab 32, context 48, d_model 128, 4 heads,
// 2 layers, MLP 512, batch 64), per available backend, and the ratio to
// single-thread PyTorch (+OpenBLAS) when /usr/bin/python3 can import torch.
//
//   train_step      fwd + bwd + AdamW on 64 x 48 tokens, cross-entropy loss
//   gen_kvcache     64 prompts of 16 tokens, 32 new tokens, KV cache, sampling
//   logprob_entropy per-token log-prob + full-vocabulary entropy, 64 x 48
//
// Environment: RLGRID_BENCH_BACKENDS=wasm,cpu (default: wasm, cpu, and
// tensorflow when installed); RLGRID_BENCH_PROFILE=1 prints a per-kernel
// profile of one training step and one generation (fast path only);
// RLGRID_TORCH_REF=path/to/torch_ref.py (default ../shared/bench/torch_ref.py
// from the project root). torch runs with OpenBLAS's best kernel for this CPU
// (OPENBLAS_CORETYPE set for that command, replacing the environment's;
// RLGRID_BENCH_OPENBLAS_CORETYPE forces another) and no ratio is printed when
// OpenBLAS still runs a generic kernel on an AVX2 CPU. Numbers are medians over the
// iterations; on a shared machine, run it a few times.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { referenceCoretype, unfairKernel } from './blas.ts';
import { initBackend, type BackendName } from '../src/nn/backend.ts';
import { kernels } from '../src/nn/wasm/runtime.ts';
import { createModel, disposeModel, paramCount, score, tokenLogProbsAndEntropy, usesFastPath, type Model, type ModelConfig } from '../src/nn/model/index.ts';
import { AdamW } from '../src/nn/optim.ts';
import { generate } from '../src/nn/sampling.ts';
import { Rng } from '../src/util/rng.ts';
import type { OptimizerConfig } from '../src/config/job.ts';

const CFG: ModelConfig = { vocab: 32, context: 48, d_model: 128, heads: 4, layers: 2, mlp_ratio: 4 };
const B = 64;
const T = 48;
const PROMPT = 16;
const GEN = 32;

const OPT: OptimizerConfig = {
  name: 'adamw',
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weight_decay: 0,
  grad_clip: null,
  schedule: 'constant',
  warmup_steps: 0,
  min_lr_ratio: 0.1,
};

/** torch_ref.py's synthetic data: noisy affine recurrences x <- (a x + c) mod V */
function batch(rng: Rng, b: number, n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < b; i++) {
    const a = rng.int(0, 7) * 2 + 1;
    const c = rng.int(0, CFG.vocab - 1);
    let x = rng.int(0, CFG.vocab - 1);
    const row = [x];
    for (let t = 1; t < n; t++) {
      x = rng.float() < 0.1 ? rng.int(0, CFG.vocab - 1) : (a * x + c) % CFG.vocab;
      row.push(x);
    }
    out.push(row);
  }
  return out;
}

interface Timing {
  name: string;
  iters: number;
  medMs: number;
  minMs: number;
  tokPerS: number;
}

function timeit(name: string, fn: () => void, units: number, warm: number, n: number): Timing {
  for (let i = 0; i < warm; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  const med = ts[n >> 1];
  return { name, iters: n, medMs: med, minMs: ts[0], tokPerS: units / (med / 1e3) };
}

function trainStep(model: Model, opt: AdamW, rng: Rng): number {
  const s = batch(rng, B, T + 1);
  const inp = tf.tensor2d(s.map((r) => r.slice(0, T)), [B, T], 'int32');
  const tgt = tf.tensor2d(s.map((r) => r.slice(1)), [B, T], 'int32');
  const { value, grads } = tf.variableGrads(() => {
    const { logp, entropy } = tokenLogProbsAndEntropy(model, inp, tgt, 1);
    entropy.dispose();
    return tf.neg(tf.mean(logp)) as tf.Scalar;
  }, model.params);
  opt.step(grads, OPT.lr);
  const loss = value.dataSync()[0];
  tf.dispose([value, inp, tgt, grads]);
  return loss;
}

function runBackend(name: Exclude<BackendName, 'auto'>): Record<string, Timing> | null {
  const slow = name === 'cpu';
  const model = createModel(CFG, 42);
  const opt = new AdamW(model.params, OPT);
  const dataRng = Rng.seeded(123);
  const out: Record<string, Timing> = {};
  const tensors0 = tf.memory().numTensors;
  out.train_step = timeit('train_step', () => void trainStep(model, opt, dataRng), B * T, slow ? 1 : 3, slow ? 2 : 20);
  const prompts = batch(Rng.seeded(7), B, PROMPT);
  const genRng = Rng.seeded(3);
  out.gen_kvcache = timeit(
    'gen_kvcache',
    () => void generate(model, prompts, { temperature: 1, topP: 1, maxNewTokens: GEN, eos: -1, rng: genRng }),
    B * GEN,
    1,
    slow ? 2 : 10,
  );
  const seqs = batch(Rng.seeded(9), B, T + 1);
  out.logprob_entropy = timeit('logprob_entropy', () => void score(model, seqs, 1, { batchSize: B }), B * T, slow ? 1 : 2, slow ? 2 : 20);
  const leaked = tf.memory().numTensors - tensors0;
  if (leaked !== 0) console.log(`  warning: ${leaked} tensors more than before the bench`);
  if (process.env.RLGRID_BENCH_PROFILE && usesFastPath(model)) profile(model, opt);
  opt.dispose();
  disposeModel(model);
  return out;
}

function profile(model: Model, opt: AdamW): void {
  const K = kernels()!;
  const show = (title: string, total: number, prof: Map<string, { ms: number; calls: number }>) => {
    const rows = [...prof.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const kms = rows.reduce((s, [, r]) => s + r.ms, 0);
    console.log(`  profile of one ${title} (${total.toFixed(1)} ms; kernels ${kms.toFixed(1)} ms, the rest is tfjs ops and JS):`);
    for (const [label, r] of rows) console.log(`    ${label.padEnd(26)} ${r.ms.toFixed(2).padStart(8)} ms ${String(r.calls).padStart(5)} calls`);
  };
  const rng = Rng.seeded(5);
  for (let i = 0; i < 3; i++) trainStep(model, opt, rng);
  const steps = 5;
  K.profile(true);
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) trainStep(model, opt, rng);
  let total = (performance.now() - t0) / steps;
  const p1 = K.profile(false);
  for (const r of p1.values()) {
    r.ms /= steps;
    r.calls /= steps;
  }
  // the optimizer alone (tfjs ops)
  const fakeGrads = model.params.map((p) => tf.onesLike(p));
  t0 = performance.now();
  for (let i = 0; i < steps; i++) opt.step(fakeGrads, 0);
  p1.set('(AdamW, tfjs ops)', { ms: (performance.now() - t0) / steps, calls: 1 });
  tf.dispose(fakeGrads);
  show('train_step', total, p1);
  const prompts = batch(Rng.seeded(7), B, PROMPT);
  K.profile(true);
  t0 = performance.now();
  generate(model, prompts, { temperature: 1, topP: 1, maxNewTokens: GEN, eos: -1, rng: Rng.seeded(1) });
  total = performance.now() - t0;
  show('gen_kvcache', total, K.profile(false));
}

function torchRefPath(): string | null {
  const env = process.env.RLGRID_TORCH_REF;
  if (env) return fs.existsSync(env) ? env : null;
  // the shared reference beside the project: ../shared/bench/torch_ref.py from the
  // project root, or from the main checkout's root when this is a git worktree
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const roots = [root];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    roots.push(path.dirname(common.trim()));
  } catch {
    // not a git checkout
  }
  for (const r of roots) {
    const ref = path.join(r, '..', 'shared', 'bench', 'torch_ref.py');
    if (fs.existsSync(ref)) return ref;
  }
  return null;
}

interface TorchRef {
  times: Record<string, { med_ms: number; min_ms: number; tok_per_s: number }>;
  kernel: string | null;
  /** why the ratios would be unfair (a generic BLAS kernel on an AVX2 CPU), or null */
  unfair: string | null;
}

function runTorch(): TorchRef | string {
  const py = '/usr/bin/python3';
  const ref = torchRefPath();
  if (!ref) return 'torch_ref.py not found at ../shared/bench/torch_ref.py (set RLGRID_TORCH_REF)';
  if (!fs.existsSync(py)) return `${py} not found`;
  try {
    execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
  } catch {
    return `${py} cannot import torch (apt-get install python3-torch libopenblas0)`;
  }
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  // the CPU's best OpenBLAS kernel, for this command only (bench/blas.ts says why)
  const { coretype, how } = referenceCoretype(cpuinfo, process.env);
  const env = { ...process.env, OPENBLAS_CORETYPE: coretype };
  const text = execFileSync(py, [ref, '1'], { encoding: 'utf8', timeout: 600_000, env });
  const out: TorchRef = { times: {}, kernel: null, unfair: null };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { name?: string; med_ms?: number; min_ms?: number; tok_per_s?: number; torch?: string; blas_kernel?: string | null };
    if (o.torch) {
      out.kernel = o.blas_kernel ?? null;
      console.log(`  torch ${o.torch}, 1 thread, OpenBLAS kernel ${out.kernel ?? 'unknown'} (${how}; ${ref})`);
    }
    if (o.name && o.med_ms !== undefined && o.tok_per_s !== undefined) out.times[o.name] = { med_ms: o.med_ms, min_ms: o.min_ms ?? o.med_ms, tok_per_s: o.tok_per_s };
  }
  out.unfair = unfairKernel(out.kernel, cpuinfo);
  return out;
}

async function availableBackends(): Promise<Exclude<BackendName, 'auto'>[]> {
  const env = process.env.RLGRID_BENCH_BACKENDS;
  if (env) return env.split(',').map((s) => s.trim()) as Exclude<BackendName, 'auto'>[];
  const out: Exclude<BackendName, 'auto'>[] = ['wasm', 'cpu'];
  for (const p of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(p);
      out.push('tensorflow');
      break;
    } catch {
      // not installed
    }
  }
  return out;
}

export async function benchModel(): Promise<void> {
  console.log(`model: ${JSON.stringify(CFG)}, ${paramCount(CFG)} parameters, batch ${B}`);
  const results: Record<string, Record<string, Timing>> = {};
  for (const be of await availableBackends()) {
    const info = await initBackend(be, 1);
    console.log(
      `\nbackend ${info.backend} (tfjs ${info.tfjsVersion}, simd ${info.simd}, threads ${info.threads}, ` +
        `${info.fastKernels ? "rlgrid's SIMD kernels" : 'tfjs ops'})`,
    );
    const r = runBackend(be);
    if (!r) continue;
    results[be] = r;
    for (const t of Object.values(r))
      console.log(
        `  ${t.name.padEnd(16)} ${t.medMs.toFixed(1).padStart(9)} ms (min ${t.minMs.toFixed(1)}, ${t.iters} iters)  ${Math.round(t.tokPerS)
          .toString()
          .padStart(8)} tok/s`,
      );
    const K = kernels();
    if (K) console.log(`  (${K.compiles} kernels compiled in ${K.compileMs.toFixed(0)} ms, once per shape)`);
  }
  console.log('\ntorch reference (bench/torch_ref.py, 1 thread):');
  const torch = runTorch();
  if (typeof torch === 'string') {
    console.log(`  skipped: ${torch}`);
    return;
  }
  for (const [n, t] of Object.entries(torch.times))
    console.log(`  ${n.padEnd(16)} ${t.med_ms.toFixed(1).padStart(9)} ms (min ${t.min_ms.toFixed(1)})  ${String(t.tok_per_s).padStart(8)} tok/s`);
  if (torch.unfair) {
    console.log(`\nno rlgrid / torch ratio: ${torch.unfair}`);
    return;
  }
  console.log(`\nrlgrid / torch throughput (torch on OpenBLAS ${torch.kernel}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  for (const [be, r] of Object.entries(results)) {
    const parts = Object.values(r).map((t) => {
      const ref = torch.times[t.name];
      return ref ? `${t.name} ${(t.tokPerS / ref.tok_per_s).toFixed(2)}` : `${t.name} n/a`;
    });
    console.log(`  ${be.padEnd(10)} ${parts.join('   ')}   (medians)`);
    // on a shared machine the fastest iteration of each is the one that had a core to itself
    const mins = Object.values(r).map((t) => {
      const ref = torch.times[t.name];
      return ref ? `${t.name} ${(ref.min_ms / t.minMs).toFixed(2)}` : `${t.name} n/a`;
    });
    console.log(`  ${be.padEnd(10)} ${mins.join('   ')}   (fastest iterations)`);
  }
}

// `tsx bench/model.ts` runs it directly too.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await benchModel();
