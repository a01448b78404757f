// A small causal transformer LM (GPT-2 shape, as bench/torch_ref.py): learned
// token and position embeddings, pre-LayerNorm blocks with fused-QKV
// multi-head attention and a GELU(tanh) MLP, a final LayerNorm and an untied
// output head. Parameters are a flat, ordered list of named tf.Variables with
// a deterministic seeded initialisation (Rng, not tf's initialisers).
//
// Two implementations of the same maths:
// - fast (tfjs `wasm` with SIMD): rlgrid's WebAssembly kernels (backend.ts) in
//   tfjs's heap, with a hand-written backward pass behind one tf.customGrad, so
//   the trainer still differentiates with tf.variableGrads;
// - generic (any backend: cpu, tensorflow, wasm without SIMD): plain tfjs ops
//   and tfjs autograd. Tests check the two agree (values and gradients).
//
// Padding: rows may be left-padded (`offsets[b]` pad tokens before row b's
// first real token). A row's real positions then see exactly what they would
// see unpadded: positions count from the first real token, and attention never
// reaches a pad key. Right padding needs nothing (attention is causal).
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import { kernels, type Kernels } from '../backend.ts';

export interface ModelConfig {
  vocab: number;
  /** maximum sequence length (learned positions) */
  context: number;
  d_model: number;
  heads: number;
  layers: number;
  /** MLP hidden size = mlp_ratio * d_model */
  mlp_ratio: number;
}

export type Engine = 'auto' | 'fast' | 'generic';

export interface Model {
  readonly config: ModelConfig;
  /** trainable parameters, in the order of `names` (the order optimizers and checkpoints use) */
  readonly params: tf.Variable[];
  readonly names: readonly string[];
  /** which implementation runs: 'auto' = fast when the backend has rlgrid's kernels */
  engine: Engine;
}

export const LN_EPS = 1e-5;

export function validateConfig(cfg: ModelConfig): void {
  const ints: (keyof ModelConfig)[] = ['vocab', 'context', 'd_model', 'heads', 'layers', 'mlp_ratio'];
  for (const k of ints) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`model config: ${k} must be a positive integer (got ${v})`);
  }
  if (cfg.d_model % cfg.heads !== 0) throw new Error(`model config: d_model ${cfg.d_model} is not divisible by heads ${cfg.heads}`);
}

export interface ParamSpec {
  name: string;
  shape: number[];
  init: { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' };
}

/** Parameter names, shapes and initialisers, in order. */
export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  validateConfig(cfg);
  const D = cfg.d_model;
  const F = cfg.mlp_ratio * D;
  const std = 0.02;
  const projStd = 0.02 / Math.sqrt(2 * cfg.layers); // GPT-2: residual projections scaled by depth
  const out: ParamSpec[] = [
    { name: 'wte', shape: [cfg.vocab, D], init: { kind: 'normal', std } },
    { name: 'wpe', shape: [cfg.context, D], init: { kind: 'normal', std: 0.01 } },
  ];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `blocks.${l}.`;
    out.push(
      { name: p + 'ln1.g', shape: [D], init: { kind: 'ones' } },
      { name: p + 'ln1.b', shape: [D], init: { kind: 'zeros' } },
      { name: p + 'attn.qkv.w', shape: [D, 3 * D], init: { kind: 'normal', std } },
      { name: p + 'attn.qkv.b', shape: [3 * D], init: { kind: 'zeros' } },
      { name: p + 'attn.o.w', shape: [D, D], init: { kind: 'normal', std: projStd } },
      { name: p + 'attn.o.b', shape: [D], init: { kind: 'zeros' } },
      { name: p + 'ln2.g', shape: [D], init: { kind: 'ones' } },
      { name: p + 'ln2.b', shape: [D], init: { kind: 'zeros' } },
      { name: p + 'mlp.fc1.w', shape: [D, F], init: { kind: 'normal', std } },
      { name: p + 'mlp.fc1.b', shape: [F], init: { kind: 'zeros' } },
      { name: p + 'mlp.fc2.w', shape: [F, D], init: { kind: 'normal', std: projStd } },
      { name: p + 'mlp.fc2.b', shape: [D], init: { kind: 'zeros' } },
    );
  }
  out.push(
    { name: 'lnf.g', shape: [D], init: { kind: 'ones' } },
    { name: 'lnf.b', shape: [D], init: { kind: 'zeros' } },
    { name: 'head.w', shape: [D, cfg.vocab], init: { kind: 'normal', std } },
    { name: 'head.b', shape: [cfg.vocab], init: { kind: 'zeros' } },
  );
  return out;
}

export function paramCount(cfg: ModelConfig): number {
  return paramSpecs(cfg).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** The initial weights for a seed, as Float32Arrays (draws in parameter order). */
export function initialWeights(cfg: ModelConfig, seed: number): Float32Array[] {
  const rng = Rng.derived(seed, 'model-init');
  return paramSpecs(cfg).map((p) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (p.init.kind === 'ones') a.fill(1);
    else if (p.init.kind === 'normal') for (let i = 0; i < n; i++) a[i] = rng.normal() * p.init.std;
    return a;
  });
}

let modelCounter = 0;

/** A model with fresh seeded weights (or the given ones, e.g. from a checkpoint). */
export function createModel(cfg: ModelConfig, seed: number, weights?: readonly Float32Array[]): Model {
  const specs = paramSpecs(cfg);
  const init = weights ?? initialWeights(cfg, seed);
  if (init.length !== specs.length) throw new Error(`expected ${specs.length} weight arrays, got ${init.length}`);
  const id = ++modelCounter;
  const params = specs.map((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (init[i].length !== n) throw new Error(`weight ${s.name}: expected ${n} values, got ${init[i].length}`);
    return tf.tidy(() => tf.variable(tf.tensor(init[i], s.shape, 'float32'), true, `rlgrid${id}/${s.name}`));
  });
  return { config: { ...cfg }, params, names: specs.map((s) => s.name), engine: 'auto' };
}

export function disposeModel(model: Model): void {
  for (const p of model.params) p.dispose();
}

/** Copies of the current weights, in parameter order. */
export function getWeights(model: Model): Float32Array[] {
  return model.params.map((p) => p.dataSync() as Float32Array).map((a) => new Float32Array(a));
}

/** Overwrite the weights (shapes must match). */
export function setWeights(model: Model, weights: readonly Float32Array[]): void {
  if (weights.length !== model.params.length) throw new Error(`expected ${model.params.length} weight arrays, got ${weights.length}`);
  model.params.forEach((p, i) => {
    if (weights[i].length !== p.size) throw new Error(`weight ${model.names[i]}: expected ${p.size} values, got ${weights[i].length}`);
    tf.tidy(() => p.assign(tf.tensor(weights[i], p.shape, 'float32')));
  });
}

/** Does this model run on rlgrid's kernels right now? */
export function usesFastPath(model: Model): boolean {
  if (model.engine === 'generic') return false;
  const k = kernels();
  const ok = k !== null && model.config.d_model % 4 === 0;
  if (model.engine === 'fast' && !ok) throw new Error('model.engine = fast needs the wasm backend with SIMD and d_model % 4 == 0');
  return ok;
}

// Parameter indices within model.params.
const P_WTE = 0;
const P_WPE = 1;
const PER_LAYER = 12;
const L_LN1G = 0;
const L_LN1B = 1;
const L_QKVW = 2;
const L_QKVB = 3;
const L_OW = 4;
const L_OB = 5;
const L_LN2G = 6;
const L_LN2B = 7;
const L_FC1W = 8;
const L_FC1B = 9;
const L_FC2W = 10;
const L_FC2B = 11;
const lp = (l: number, k: number) => 2 + l * PER_LAYER + k;
const fin = (cfg: ModelConfig, k: number) => 2 + cfg.layers * PER_LAYER + k; // 0 lnf.g, 1 lnf.b, 2 head.w, 3 head.b

function checkOffsets(offsets: Int32Array | null | undefined, B: number, T: number): Int32Array {
  if (!offsets) return new Int32Array(B);
  if (offsets.length !== B) throw new Error(`offsets: expected ${B} values, got ${offsets.length}`);
  for (const o of offsets) if (!Number.isInteger(o) || o < 0 || o > T) throw new Error(`offsets: ${o} is outside [0, ${T}]`);
  return offsets;
}

function checkTokens(tok: Int32Array, V: number, what: string): void {
  for (let i = 0; i < tok.length; i++) {
    const t = tok[i];
    if (!(t >= 0 && t < V)) throw new Error(`${what}: token ${t} at ${i} is outside the vocabulary [0, ${V})`);
  }
}

// ============================================================================
// Generic path: tfjs ops, tfjs autograd.
// ============================================================================

/** rows of `table` picked by int32 `idx` (flat); one-hot matmul on wasm, whose gather has no gradient kernel */
function embedRows(table: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() === 'wasm') return tf.matMul(tf.oneHot(idx, table.shape[0]).toFloat(), table);
  return tf.gather(table, idx);
}

function layerNormOps(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPS))), g), b);
}

export function geluOps(u: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(u, tf.mul(0.044715, tf.mul(tf.mul(u, u), u))));
  return tf.mul(tf.mul(u, 0.5), tf.add(1, tf.tanh(inner)));
}

interface GenericCache {
  k: tf.Tensor4D; // [B, H, L, DH]
  v: tf.Tensor4D;
}

/**
 * Hidden states after the final LayerNorm [B*T, D] for tokens at columns
 * t0..t0+T-1, attending to `past` keys (columns 0..t0-1) when given; returns
 * the new caches when `wantCache`.
 */
function genericHidden(
  model: Model,
  tokens: tf.Tensor2D,
  offs: Int32Array,
  t0 = 0,
  past: GenericCache[] | null = null,
  wantCache = false,
): { hidden: tf.Tensor2D; caches: GenericCache[] } {
  const cfg = model.config;
  const p = model.params;
  const [B, T] = tokens.shape;
  const D = cfg.d_model;
  const H = cfg.heads;
  const DH = D / H;
  const L = t0 + T;
  const pos = new Int32Array(B * T);
  const mask = new Float32Array(B * T * L);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const qi = t0 + i;
      pos[b * T + i] = Math.min(Math.max(qi - offs[b], 0), cfg.context - 1);
      const lo = qi < offs[b] ? qi : offs[b];
      for (let j = 0; j < L; j++) mask[(b * T + i) * L + j] = j >= lo && j <= qi ? 0 : -1e9;
    }
  }
  const caches: GenericCache[] = [];
  const hidden = tf.tidy(() => {
    const maskT = tf.tensor4d(mask, [B, 1, T, L]);
    let x = tf.add(
      embedRows(p[P_WTE] as tf.Tensor2D, tokens.reshape([B * T]) as tf.Tensor1D),
      embedRows(p[P_WPE] as tf.Tensor2D, tf.tensor1d(pos, 'int32')),
    ) as tf.Tensor2D;
    const heads = (t: tf.Tensor2D) => t.reshape([B, T, H, DH]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    for (let l = 0; l < cfg.layers; l++) {
      const h = layerNormOps(x, p[lp(l, L_LN1G)], p[lp(l, L_LN1B)]);
      const qkv = tf.add(tf.matMul(h, p[lp(l, L_QKVW)] as tf.Tensor2D), p[lp(l, L_QKVB)]) as tf.Tensor2D;
      const [q, k, v] = tf.split(qkv, 3, 1) as tf.Tensor2D[];
      let kh = heads(k);
      let vh = heads(v);
      if (past) {
        kh = tf.concat([past[l].k, kh], 2);
        vh = tf.concat([past[l].v, vh], 2);
      }
      if (wantCache) caches.push({ k: tf.keep(kh), v: tf.keep(vh) });
      const s = tf.add(tf.mul(tf.matMul(heads(q), kh, false, true), 1 / Math.sqrt(DH)), maskT);
      const a = tf.matMul(tf.softmax(s), vh).transpose([0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
      x = tf.add(x, tf.add(tf.matMul(a, p[lp(l, L_OW)] as tf.Tensor2D), p[lp(l, L_OB)])) as tf.Tensor2D;
      const h2 = layerNormOps(x, p[lp(l, L_LN2G)], p[lp(l, L_LN2B)]);
      const u = tf.add(tf.matMul(h2, p[lp(l, L_FC1W)] as tf.Tensor2D), p[lp(l, L_FC1B)]);
      x = tf.add(x, tf.add(tf.matMul(geluOps(u) as tf.Tensor2D, p[lp(l, L_FC2W)] as tf.Tensor2D), p[lp(l, L_FC2B)])) as tf.Tensor2D;
    }
    return layerNormOps(x, p[fin(cfg, 0)], p[fin(cfg, 1)]);
  });
  return { hidden, caches };
}

function genericHead(model: Model, hidden: tf.Tensor2D): tf.Tensor2D {
  const cfg = model.config;
  return tf.add(tf.matMul(hidden, model.params[fin(cfg, 2)] as tf.Tensor2D), model.params[fin(cfg, 3)]) as tf.Tensor2D;
}

/** logp of targets (0 where the target is outside the vocabulary) and entropy, from logits [R, V] */
function genericLogpEnt(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature: number): { logp: tf.Tensor1D; ent: tf.Tensor1D } {
  return tf.tidy(() => {
    const V = logits.shape[1];
    const z = tf.mul(logits, Math.fround(1 / temperature)) as tf.Tensor2D;
    const lse = tf.logSumExp(z, -1);
    const valid = tf.logicalAnd(tf.greaterEqual(targets, 0), tf.less(targets, V));
    const onehot = tf.oneHot(tf.where(valid, targets, tf.zerosLike(targets)), V).toFloat();
    const logp = tf.where(valid, tf.sub(tf.sum(tf.mul(z, onehot), -1), lse), tf.zerosLike(lse)) as tf.Tensor1D;
    const ent = tf.sub(lse, tf.sum(tf.mul(tf.softmax(z), z), -1)) as tf.Tensor1D;
    return { logp, ent };
  });
}

// ============================================================================
// Fast path: rlgrid's kernels on the tfjs-wasm heap.
// ============================================================================

/** Byte offsets of sub-buffers within one arena tensor (16-byte aligned). */
class Layout {
  floats = 0;
  take(n: number): number {
    const off = this.floats * 4;
    this.floats += Math.ceil(n / 4) * 4;
    return off;
  }
}

type Gemm = ReturnType<Kernels['gemm']>;

/** Kernels for one (config, T, key stride LK) forward/backward, resolved once. */
interface Plan {
  T: number;
  LK: number;
  embed: ReturnType<Kernels['embed']>;
  ln: ReturnType<Kernels['layerNorm']>;
  qkv: Gemm;
  ktCopy: ReturnType<Kernels['copy']>;
  scores: Gemm;
  softmax: ReturnType<Kernels['softmax']>;
  pv: Gemm;
  proj: Gemm;
  fc1: Gemm;
  gelu: ReturnType<Kernels['gelu']>;
  fc2: Gemm;
  head: Gemm;
  lpe: ReturnType<Kernels['logpEnt']>;
}

interface BackPlan {
  lnBackSet: ReturnType<Kernels['layerNormBack']>;
  lnBackAcc: ReturnType<Kernels['layerNormBack']>;
  transpose: (R: number, C: number) => ReturnType<Kernels['copy']>;
  dW: (inF: number, outF: number) => Gemm;
  dX: (inF: number, outF: number) => Gemm;
  colSum: (cols: number) => ReturnType<Kernels['colSum']>;
  vtCopy: ReturnType<Kernels['copy']>;
  dP: Gemm;
  softmaxBack: ReturnType<Kernels['softmaxBack']>;
  dQ: Gemm;
  dK: Gemm;
  dV: Gemm;
  gelu: ReturnType<Kernels['geluBack']>;
  embed: ReturnType<Kernels['embedBack']>;
  lpe: ReturnType<Kernels['logpEntBack']>;
}

const planCache = new WeakMap<Kernels, Map<string, Plan | BackPlan | DecodePlan>>();

function cached<T extends Plan | BackPlan | DecodePlan>(K: Kernels, key: string, make: () => T): T {
  let m = planCache.get(K);
  if (!m) planCache.set(K, (m = new Map()));
  let p = m.get(key) as T | undefined;
  if (!p) m.set(key, (p = make()));
  return p;
}

function cfgKey(cfg: ModelConfig): string {
  return `${cfg.vocab}:${cfg.context}:${cfg.d_model}:${cfg.heads}:${cfg.layers}:${cfg.mlp_ratio}`;
}

function plan(K: Kernels, cfg: ModelConfig, T: number, LK: number): Plan {
  return cached(K, `fwd:${cfgKey(cfg)}:${T}:${LK}`, () => {
    const D = cfg.d_model;
    const H = cfg.heads;
    const DH = D / H;
    const F = cfg.mlp_ratio * D;
    const V = cfg.vocab;
    const D3 = 3 * D;
    return {
      T,
      LK,
      embed: K.embed(T, D, cfg.context),
      ln: K.layerNorm(D, LN_EPS),
      qkv: K.gemm({ N: D3, sai: D, sak: 1, sbk: D3, sci: D3, bias: true, MC: 64, packB: true }, 'matmul.qkv'),
      ktCopy: K.copy({ n: [H, DH, T], s: [T * D3, DH, 1, D3], d: [H * DH * LK, DH * LK, LK, 1] }, 'attn.k-transpose'),
      scores: K.gemm({
        N: T, sai: D3, sak: 1, sbk: LK, sci: T,
        nb2: H, sa1: T * D3, sb1: H * DH * LK, sc1: H * T * T, sa2: DH, sb2: DH * LK, sc2: T * T,
        alpha: 1 / Math.sqrt(DH),
      }, 'attn.scores'),
      softmax: K.softmax(H, T, T),
      pv: K.gemm({ N: DH, sai: T, sak: 1, sbk: D3, sci: D, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D, sa2: T * T, sb2: DH, sc2: DH }, 'attn.pv'),
      proj: K.gemm({ N: D, sai: D, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.attn-out'),
      fc1: K.gemm({ N: F, sai: D, sak: 1, sbk: F, sci: F, bias: true, MC: 64, packB: true }, 'matmul.fc1'),
      gelu: K.gelu(),
      fc2: K.gemm({ N: D, sai: F, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64, packB: true }, 'matmul.fc2'),
      head: K.gemm({ N: V, sai: D, sak: 1, sbk: V, sci: V, bias: true, MC: 64, packB: true }, 'matmul.head'),
      lpe: K.logpEnt(V),
    };
  });
}

function backPlan(K: Kernels, cfg: ModelConfig, T: number): BackPlan {
  return cached(K, `bwd:${cfgKey(cfg)}:${T}`, () => {
    const D = cfg.d_model;
    const H = cfg.heads;
    const DH = D / H;
    const D3 = 3 * D;
    const V = cfg.vocab;
    return {
      lnBackSet: K.layerNormBack(D, false),
      lnBackAcc: K.layerNormBack(D, true),
      transpose: (R, C) => K.copy({ n: [1, C, R], s: [0, 0, 1, C], d: [0, 0, R, 1] }, 'back.weight-transpose'),
      dW: (inF, outF) => K.gemm({ N: outF, sai: 1, sak: inF, sbk: outF, sci: outF, MC: 128, KC: 128, packB: true }, 'back.matmul.dW'),
      dX: (inF, outF) => K.gemm({ N: inF, sai: outF, sak: 1, sbk: inF, sci: inF, MC: 64, packB: true }, 'back.matmul.dX'),
      colSum: (cols) => K.colSum(cols, 'back.bias'),
      vtCopy: K.copy({ n: [H, DH, T], s: [T * D3, DH, 1, D3], d: [H * DH * T, DH * T, T, 1] }, 'back.attn.v-transpose'),
      dP: K.gemm({ N: T, sai: D, sak: 1, sbk: T, sci: T, nb2: H, sa1: T * D, sb1: H * DH * T, sc1: H * T * T, sa2: DH, sb2: DH * T, sc2: T * T }, 'back.attn.dP'),
      softmaxBack: K.softmaxBack(T, 1 / Math.sqrt(DH)),
      dQ: K.gemm({ N: DH, sai: T, sak: 1, sbk: D3, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      dK: K.gemm({ N: DH, sai: 1, sak: T, sbk: D3, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D3, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      dV: K.gemm({ N: DH, sai: 1, sak: T, sbk: D, sci: D3, nb2: H, sa1: H * T * T, sb1: T * D, sc1: T * D3, sa2: T * T, sb2: DH, sc2: DH }, 'back.attn.dQKV'),
      gelu: K.geluBack(),
      embed: K.embedBack(T, D, V, cfg.context),
      lpe: K.logpEntBack(V),
    };
  });
}

/** per-layer activation buffers (byte offsets relative to the arena) */
interface LayerBufs {
  x: number; // layer input (residual stream)
  mean1: number;
  rstd1: number;
  h1: number;
  qkv: number;
  kt: number;
  p: number;
  att: number;
  xmid: number;
  mean2: number;
  rstd2: number;
  h2: number;
  u: number;
  g: number;
}

interface FwdLayout {
  lay: Layout;
  tok: number;
  offs: number;
  tgt: number;
  layers: LayerBufs[];
  xL: number;
  meanf: number;
  rstdf: number;
  hf: number;
  logits: number;
  s: number; // scores scratch
  pack: number; // GEMM B-panel scratch
  logp: number;
  ent: number;
}

/**
 * Arena layout for a forward over B x T. With `distinct` every layer gets its
 * own buffers (kept for the backward pass); without, layers share one set.
 * `ktExternal`: K^T goes to a caller's buffer (the KV cache) instead.
 */
function fwdLayout(cfg: ModelConfig, B: number, T: number, distinct: boolean, ktExternal: boolean): FwdLayout {
  const lay = new Layout();
  const N = B * T;
  const D = cfg.d_model;
  const F = cfg.mlp_ratio * D;
  const H = cfg.heads;
  const tok = lay.take(N);
  const offs = lay.take(B);
  const tgt = lay.take(N);
  const layerBufs = (x: number): LayerBufs => ({
    x,
    mean1: lay.take(N),
    rstd1: lay.take(N),
    h1: lay.take(N * D),
    qkv: lay.take(N * 3 * D),
    kt: ktExternal ? -1 : lay.take(N * D),
    p: lay.take(B * H * T * T),
    att: lay.take(N * D),
    xmid: lay.take(N * D),
    mean2: lay.take(N),
    rstd2: lay.take(N),
    h2: lay.take(N * D),
    u: lay.take(N * F),
    g: lay.take(N * F),
  });
  const layers: LayerBufs[] = [];
  let xL: number;
  if (distinct) {
    let x = lay.take(N * D);
    for (let l = 0; l < cfg.layers; l++) {
      layers.push(layerBufs(x));
      x = lay.take(N * D);
    }
    xL = x;
  } else {
    // one set of buffers; the residual stream alternates between two
    const res = [lay.take(N * D), lay.take(N * D)];
    const shared = layerBufs(res[0]);
    for (let l = 0; l < cfg.layers; l++) layers.push({ ...shared, x: res[l % 2] });
    xL = res[cfg.layers % 2];
  }
  return {
    lay,
    tok,
    offs,
    tgt,
    layers,
    xL,
    meanf: lay.take(N),
    rstdf: lay.take(N),
    hf: lay.take(N * D),
    logits: lay.take(N * cfg.vocab),
    s: lay.take(B * H * T * T),
    pack: lay.take(Math.max(D * 3 * D, D * F, D * cfg.vocab)),
    logp: lay.take(N),
    ent: lay.take(N),
  };
}

/** Byte pointers of the parameters. */
function paramPtrs(K: Kernels, model: Model): number[] {
  return model.params.map((p) => K.ptr(p));
}

/** The output of layer l (input of l+1, or xL for the last). */
function layerOut(fl: FwdLayout, l: number): number {
  return l + 1 < fl.layers.length ? fl.layers[l + 1].x : fl.xL;
}

interface FwdOpts {
  /** where K^T goes for each layer (KV cache) and its row stride; default the arena */
  ktBase?: (l: number) => number;
  /** after each layer's QKV: e.g. copy V rows into a cache */
  afterQkv?: (l: number, qkv: number) => void;
  /** compute the final LayerNorm and the head (default true) */
  head?: boolean;
}

/** Run the forward over B rows of the plan's T columns. `base` is the arena's byte pointer. */
function fastForward(K: Kernels, model: Model, pl: Plan, fl: FwdLayout, base: number, B: number, opts: FwdOpts = {}): void {
  const cfg = model.config;
  const w = paramPtrs(K, model);
  const N = B * pl.T;
  const D = cfg.d_model;
  const F = cfg.mlp_ratio * D;
  const T = pl.T;
  const DH = D / cfg.heads;
  const pk = base + fl.pack;
  pl.embed(base + fl.tok, base + fl.offs, w[P_WTE], w[P_WPE], base + fl.layers[0].x, B, 0);
  for (let l = 0; l < cfg.layers; l++) {
    const b = fl.layers[l];
    const x = base + b.x;
    const qkv = base + b.qkv;
    const kt = opts.ktBase ? opts.ktBase(l) : base + b.kt;
    pl.ln(x, w[lp(l, L_LN1G)], w[lp(l, L_LN1B)], base + b.h1, base + b.mean1, base + b.rstd1, N);
    pl.qkv(base + b.h1, w[lp(l, L_QKVW)], qkv, w[lp(l, L_QKVB)], 0, N, 1, D, pk);
    pl.ktCopy(qkv + D * 4, kt, B);
    opts.afterQkv?.(l, qkv);
    pl.scores(qkv, kt, base + fl.s, 0, 0, T, B, DH);
    pl.softmax(base + fl.s, base + b.p, base + fl.offs, B, 0);
    pl.pv(base + b.p, qkv + 2 * D * 4, base + b.att, 0, 0, T, B, T);
    pl.proj(base + b.att, w[lp(l, L_OW)], base + b.xmid, w[lp(l, L_OB)], x, N, 1, D, pk);
    pl.ln(base + b.xmid, w[lp(l, L_LN2G)], w[lp(l, L_LN2B)], base + b.h2, base + b.mean2, base + b.rstd2, N);
    pl.fc1(base + b.h2, w[lp(l, L_FC1W)], base + b.u, w[lp(l, L_FC1B)], 0, N, 1, D, pk);
    pl.gelu(base + b.u, base + b.g, N * F);
    pl.fc2(base + b.g, w[lp(l, L_FC2W)], base + layerOut(fl, l), w[lp(l, L_FC2B)], base + b.xmid, N, 1, F, pk);
  }
  if (opts.head !== false) {
    pl.ln(base + fl.xL, w[fin(cfg, 0)], w[fin(cfg, 1)], base + fl.hf, base + fl.meanf, base + fl.rstdf, N);
    pl.head(base + fl.hf, w[fin(cfg, 2)], base + fl.logits, w[fin(cfg, 3)], 0, N, 1, D, pk);
  }
}

/**
 * Backward from dlogits (byte pointer, [N, V]) through the saved activations;
 * returns one gradient tensor per parameter.
 */
function fastBackward(K: Kernels, model: Model, T: number, B: number, fl: FwdLayout, base: number, dlogits: number): tf.Tensor[] {
  const cfg = model.config;
  const w = paramPtrs(K, model);
  const bp = backPlan(K, cfg, T);
  const N = B * T;
  const D = cfg.d_model;
  const H = cfg.heads;
  const DH = D / H;
  const F = cfg.mlp_ratio * D;
  const V = cfg.vocab;
  const D3 = 3 * D;
  const grads = model.params.map((p) => K.alloc(p.shape));
  const g = grads.map((t) => K.ptr(t));
  const lay = new Layout();
  const dres = lay.take(N * D);
  const dh = lay.take(N * D);
  const datt = lay.take(N * D);
  const dqkv = lay.take(N * D3);
  const dP = lay.take(B * H * T * T);
  const dg = lay.take(N * F);
  const vt = lay.take(N * D);
  const wT = lay.take(Math.max(D * D3, D * F, D * V));
  const pack = lay.take(Math.max(N * Math.max(D3, F, V), D * D3, D * F, D * V));
  const scratch = K.alloc([lay.floats]);
  const s = K.ptr(scratch);
  const pk = s + pack;
  // head
  bp.dW(D, V)(base + fl.hf, dlogits, g[fin(cfg, 2)], 0, 0, D, 1, N, pk);
  bp.colSum(V)(dlogits, g[fin(cfg, 3)], N);
  bp.transpose(D, V)(w[fin(cfg, 2)], s + wT, 1);
  bp.dX(D, V)(dlogits, s + wT, s + dh, 0, 0, N, 1, V, pk);
  K.zero(g[fin(cfg, 0)], D);
  K.zero(g[fin(cfg, 1)], D);
  bp.lnBackSet(base + fl.xL, base + fl.meanf, base + fl.rstdf, w[fin(cfg, 0)], s + dh, s + dres, g[fin(cfg, 0)], g[fin(cfg, 1)], N);
  for (let l = cfg.layers - 1; l >= 0; l--) {
    const b = fl.layers[l];
    // MLP: out = xmid + gelu(ln2(xmid) W1 + b1) W2 + b2
    bp.dW(F, D)(base + b.g, s + dres, g[lp(l, L_FC2W)], 0, 0, F, 1, N, pk);
    bp.colSum(D)(s + dres, g[lp(l, L_FC2B)], N);
    bp.transpose(F, D)(w[lp(l, L_FC2W)], s + wT, 1);
    bp.dX(F, D)(s + dres, s + wT, s + dg, 0, 0, N, 1, D, pk);
    bp.gelu(base + b.u, s + dg, s + dg, N * F);
    bp.dW(D, F)(base + b.h2, s + dg, g[lp(l, L_FC1W)], 0, 0, D, 1, N, pk);
    bp.colSum(F)(s + dg, g[lp(l, L_FC1B)], N);
    bp.transpose(D, F)(w[lp(l, L_FC1W)], s + wT, 1);
    bp.dX(D, F)(s + dg, s + wT, s + dh, 0, 0, N, 1, F, pk);
    K.zero(g[lp(l, L_LN2G)], D);
    K.zero(g[lp(l, L_LN2B)], D);
    bp.lnBackAcc(base + b.xmid, base + b.mean2, base + b.rstd2, w[lp(l, L_LN2G)], s + dh, s + dres, g[lp(l, L_LN2G)], g[lp(l, L_LN2B)], N);
    // attention: xmid = x + attn(ln1(x)) Wo + bo
    bp.dW(D, D)(base + b.att, s + dres, g[lp(l, L_OW)], 0, 0, D, 1, N, pk);
    bp.colSum(D)(s + dres, g[lp(l, L_OB)], N);
    bp.transpose(D, D)(w[lp(l, L_OW)], s + wT, 1);
    bp.dX(D, D)(s + dres, s + wT, s + datt, 0, 0, N, 1, D, pk);
    const qkv = base + b.qkv;
    bp.vtCopy(qkv + 2 * D * 4, s + vt, B);
    bp.dP(s + datt, s + vt, s + dP, 0, 0, T, B, DH);
    bp.softmaxBack(base + b.p, s + dP, s + dP, B * H * T);
    bp.dQ(s + dP, qkv + D * 4, s + dqkv, 0, 0, T, B, T);
    bp.dK(s + dP, qkv, s + dqkv + D * 4, 0, 0, T, B, T);
    bp.dV(base + b.p, s + datt, s + dqkv + 2 * D * 4, 0, 0, T, B, T);
    bp.dW(D, D3)(base + b.h1, s + dqkv, g[lp(l, L_QKVW)], 0, 0, D, 1, N, pk);
    bp.colSum(D3)(s + dqkv, g[lp(l, L_QKVB)], N);
    bp.transpose(D, D3)(w[lp(l, L_QKVW)], s + wT, 1);
    bp.dX(D, D3)(s + dqkv, s + wT, s + dh, 0, 0, N, 1, D3, pk);
    K.zero(g[lp(l, L_LN1G)], D);
    K.zero(g[lp(l, L_LN1B)], D);
    bp.lnBackAcc(base + b.x, base + b.mean1, base + b.rstd1, w[lp(l, L_LN1G)], s + dh, s + dres, g[lp(l, L_LN1G)], g[lp(l, L_LN1B)], N);
  }
  bp.embed(base + fl.tok, base + fl.offs, s + dres, g[P_WTE], g[P_WPE], B);
  scratch.dispose();
  return grads;
}

/** Read an int32 [B, T] tensor, validate, and copy tokens (and offsets) into the arena. */
function writeInputs(K: Kernels, base: number, fl: FwdLayout, tok: Int32Array, offs: Int32Array, tgt: Int32Array | null, V: number): void {
  const i32 = K.i32();
  i32.set(tok, (base + fl.tok) >> 2);
  i32.set(offs, (base + fl.offs) >> 2);
  if (tgt) {
    const t = new Int32Array(tgt.length);
    for (let i = 0; i < tgt.length; i++) t[i] = tgt[i] >= 0 && tgt[i] < V ? tgt[i] : -1;
    i32.set(t, (base + fl.tgt) >> 2);
  }
}

/**
 * The fast forward as a customGrad op over all parameters. `mode` 'logits'
 * returns logits [B, T, V]; 'logpEnt' returns [2, B, T] (logp, entropy).
 */
function fastOp(
  model: Model,
  tok: Int32Array,
  offs: Int32Array,
  B: number,
  T: number,
  mode: 'logits' | 'logpEnt',
  tgt: Int32Array | null,
  temperature: number,
): tf.Tensor {
  const K = kernels()!;
  const cfg = model.config;
  const V = cfg.vocab;
  const N = B * T;
  const invT = Math.fround(1 / temperature);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const pl = plan(K, cfg, T, T);
    const fl = fwdLayout(cfg, B, T, true, false);
    const arena = K.alloc([fl.lay.floats]);
    const base = K.ptr(arena);
    writeInputs(K, base, fl, tok, offs, tgt, V);
    fastForward(K, model, pl, fl, base, B);
    let value: tf.Tensor;
    if (mode === 'logits') {
      value = K.alloc([B, T, V]);
      K.f32().copyWithin(K.ptr(value) >> 2, (base + fl.logits) >> 2, ((base + fl.logits) >> 2) + N * V);
    } else {
      value = K.alloc([2, B, T]);
      const vp = K.ptr(value);
      pl.lpe(base + fl.logits, base + fl.tgt, vp, vp + N * 4, 0, N, invT);
    }
    save([arena]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sbase = K.ptr(saved[0]);
        let dlog: tf.Tensor | null = null;
        let dlogPtr: number;
        if (mode === 'logits') {
          dlogPtr = K.ptr(dy);
        } else {
          dlog = K.alloc([N, V]);
          dlogPtr = K.ptr(dlog);
          const dyp = K.ptr(dy);
          backPlan(K, cfg, T).lpe(sbase + fl.logits, sbase + fl.tgt, dyp, dyp + N * 4, dlogPtr, N, invT);
        }
        const grads = fastBackward(K, model, T, B, fl, sbase, dlogPtr);
        dlog?.dispose();
        return grads;
      },
    };
  });
  return op(...model.params);
}

// ============================================================================
// Public API
// ============================================================================

export interface ForwardOptions {
  /** left padding per row (pad tokens before the first real token); default none */
  offsets?: Int32Array;
}

function readTokens(tokens: tf.Tensor, V: number, what: string): Int32Array {
  if (tokens.rank !== 2) throw new Error(`${what}: expected a [B, T] tensor, got shape [${tokens.shape}]`);
  const t = Int32Array.from(tokens.dataSync());
  checkTokens(t, V, what);
  return t;
}

/** Logits [B, T, V] for int32 tokens [B, T]; differentiable w.r.t. model.params. */
export function forwardLogits(model: Model, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  const [B, T] = tokens.shape;
  const cfg = model.config;
  if (T > cfg.context) throw new Error(`sequence length ${T} exceeds the model context ${cfg.context}`);
  const offs = checkOffsets(opts.offsets, B, T);
  if (usesFastPath(model)) {
    const tok = readTokens(tokens, cfg.vocab, 'forwardLogits');
    return fastOp(model, tok, offs, B, T, 'logits', null, 1) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const { hidden } = genericHidden(model, tokens, offs);
    return genericHead(model, hidden).reshape([B, T, cfg.vocab]) as tf.Tensor3D;
  });
}

/**
 * Per-token log-prob of `targetIds` under softmax(logits / temperature) and
 * the full-vocabulary entropy H = logsumexp(z) - sum(softmax(z) z) (SPEC 4),
 * both [B, T] and differentiable w.r.t. model.params. A target outside
 * [0, vocab) (e.g. -1 for padding) gives logp 0.
 */
export function tokenLogProbsAndEntropy(
  model: Model,
  inputIds: tf.Tensor2D,
  targetIds: tf.Tensor2D,
  temperature: number,
  opts: ForwardOptions = {},
): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 (got ${temperature})`);
  const [B, T] = inputIds.shape;
  const cfg = model.config;
  if (targetIds.shape[0] !== B || targetIds.shape[1] !== T) throw new Error(`targets [${targetIds.shape}] do not match inputs [${inputIds.shape}]`);
  if (T > cfg.context) throw new Error(`sequence length ${T} exceeds the model context ${cfg.context}`);
  const offs = checkOffsets(opts.offsets, B, T);
  if (usesFastPath(model)) {
    const tok = readTokens(inputIds, cfg.vocab, 'tokenLogProbsAndEntropy');
    const tgt = Int32Array.from(targetIds.dataSync());
    const both = fastOp(model, tok, offs, B, T, 'logpEnt', tgt, temperature);
    const [logp, entropy] = tf.unstack(both) as tf.Tensor2D[];
    both.dispose();
    return { logp, entropy };
  }
  return tf.tidy(() => {
    const { hidden } = genericHidden(model, inputIds, offs);
    const { logp, ent } = genericLogpEnt(genericHead(model, hidden), targetIds.reshape([B * T]) as tf.Tensor1D, temperature);
    return { logp: logp.reshape([B, T]) as tf.Tensor2D, entropy: ent.reshape([B, T]) as tf.Tensor2D };
  });
}

/** Final hidden states (after the final LayerNorm, what the head reads) [B, T, D]; not differentiable. */
export function hiddenStates(model: Model, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  const [B, T] = tokens.shape;
  const cfg = model.config;
  if (T > cfg.context) throw new Error(`sequence length ${T} exceeds the model context ${cfg.context}`);
  const offs = checkOffsets(opts.offsets, B, T);
  if (usesFastPath(model)) {
    const K = kernels()!;
    const tok = readTokens(tokens, cfg.vocab, 'hiddenStates');
    const fl = fwdLayout(cfg, B, T, false, false);
    const arena = K.alloc([fl.lay.floats]);
    try {
      const base = K.ptr(arena);
      writeInputs(K, base, fl, tok, offs, null, cfg.vocab);
      fastForward(K, model, plan(K, cfg, T, T), fl, base, B, { head: false });
      const pl = plan(K, cfg, T, T);
      const w = paramPtrs(K, model);
      pl.ln(base + fl.xL, w[fin(cfg, 0)], w[fin(cfg, 1)], base + fl.hf, base + fl.meanf, base + fl.rstdf, B * T);
      const out = K.alloc([B, T, cfg.d_model]);
      K.f32().copyWithin(K.ptr(out) >> 2, (base + fl.hf) >> 2, ((base + fl.hf) >> 2) + B * T * cfg.d_model);
      return out as tf.Tensor3D;
    } finally {
      arena.dispose();
    }
  }
  return tf.tidy(() => genericHidden(model, tokens, offs).hidden.reshape([B, T, cfg.d_model]) as tf.Tensor3D);
}

export interface ScoreOptions {
  /** rows per forward pass (default 64) */
  batchSize?: number;
}

export interface ScoreResult {
  /** logp[i][t] = log p(seq_i[t + 1] | seq_i[0..t]) under softmax(logits / temperature), t < len_i - 1 */
  logp: Float32Array[];
  /** entropy[i][t] = entropy of the next-token distribution after seq_i[0..t], t < len_i - 1 */
  entropy: Float32Array[];
  /** len_i, the length of each input sequence */
  lengths: number[];
}

/** pad length to a multiple of 8 (bounded by the context) so few kernel shapes are compiled */
function bucket(n: number, ctx: number): number {
  return Math.min(ctx, Math.ceil(n / 8) * 8);
}

/**
 * Per-token log-probs and entropies of whole sequences (prompt + response),
 * not differentiable: the fast scoring path for rollouts and evaluation.
 * Sequences are right-padded within a batch, so a sequence's numbers do not
 * depend on the batch it lands in (and equal, bit for bit on the fast path,
 * what KV-cache sampling reported for its tokens).
 */
export function score(model: Model, sequences: readonly ArrayLike<number>[], temperature: number, opts: ScoreOptions = {}): ScoreResult {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 (got ${temperature})`);
  const cfg = model.config;
  const bs = Math.max(1, opts.batchSize ?? 64);
  const out: ScoreResult = { logp: [], entropy: [], lengths: sequences.map((s) => s.length) };
  const fast = usesFastPath(model);
  for (let start = 0; start < sequences.length; start += bs) {
    const chunk = sequences.slice(start, start + bs);
    const B = chunk.length;
    // inputs are seq[0 .. len-2] (the last token is only a target), so a
    // sequence may hold context + 1 tokens
    let maxIn = 1;
    for (const s of chunk) {
      if (s.length > cfg.context + 1) throw new Error(`sequence of length ${s.length} exceeds the model context ${cfg.context} (+1 target)`);
      maxIn = Math.max(maxIn, s.length - 1);
    }
    const T = fast ? bucket(maxIn, cfg.context) : maxIn;
    const tok = new Int32Array(B * T);
    const tgt = new Int32Array(B * T).fill(-1);
    chunk.forEach((s, b) => {
      for (let t = 0; t + 1 < s.length; t++) {
        tok[b * T + t] = s[t];
        tgt[b * T + t] = s[t + 1];
      }
    });
    checkTokens(tok, cfg.vocab, 'score');
    for (const s of chunk) if (s.length > 0) checkTokens(Int32Array.from([s[s.length - 1]]), cfg.vocab, 'score');
    let logp: Float32Array;
    let ent: Float32Array;
    if (fast) {
      const K = kernels()!;
      const fl = fwdLayout(cfg, B, T, false, false);
      const arena = K.alloc([fl.lay.floats]);
      try {
        const base = K.ptr(arena);
        writeInputs(K, base, fl, tok, new Int32Array(B), tgt, cfg.vocab);
        const pl = plan(K, cfg, T, T);
        fastForward(K, model, pl, fl, base, B);
        pl.lpe(base + fl.logits, base + fl.tgt, base + fl.logp, base + fl.ent, 0, B * T, Math.fround(1 / temperature));
        const f32 = K.f32();
        logp = f32.slice((base + fl.logp) >> 2, ((base + fl.logp) >> 2) + B * T);
        ent = f32.slice((base + fl.ent) >> 2, ((base + fl.ent) >> 2) + B * T);
      } finally {
        arena.dispose();
      }
    } else {
      const r = tf.tidy(() => {
        const tokT = tf.tensor2d(tok, [B, T], 'int32');
        const { hidden } = genericHidden(model, tokT, new Int32Array(B));
        const { logp, ent } = genericLogpEnt(genericHead(model, hidden), tf.tensor1d(tgt, 'int32'), temperature);
        return tf.stack([logp, ent]);
      });
      const v = r.dataSync() as Float32Array;
      r.dispose();
      logp = v.subarray(0, B * T);
      ent = v.subarray(B * T);
    }
    chunk.forEach((s, b) => {
      const n = Math.max(0, s.length - 1);
      out.logp.push(logp.slice(b * T, b * T + n));
      out.entropy.push(ent.slice(b * T, b * T + n));
    });
  }
  return out;
}

/** The name evaluate.ts uses for score(). */
export const scoreSequences = score;

/** Mean over each sequence's tokens of the final hidden states (prompt embeddings for k-means, SPEC 11). */
export function meanHidden(model: Model, sequences: readonly ArrayLike<number>[], batchSize = 64): Float32Array[] {
  const cfg = model.config;
  const D = cfg.d_model;
  const out: Float32Array[] = [];
  for (let start = 0; start < sequences.length; start += batchSize) {
    const chunk = sequences.slice(start, start + batchSize);
    const B = chunk.length;
    let T = 1;
    for (const s of chunk) T = Math.max(T, s.length);
    if (usesFastPath(model)) T = bucket(T, cfg.context);
    const tok = new Int32Array(B * T);
    chunk.forEach((s, b) => {
      for (let t = 0; t < s.length; t++) tok[b * T + t] = s[t];
    });
    const h = tf.tidy(() => hiddenStates(model, tf.tensor2d(tok, [B, T], 'int32')));
    const v = h.dataSync() as Float32Array;
    h.dispose();
    chunk.forEach((s, b) => {
      const m = new Float32Array(D);
      const n = s.length;
      const acc = new Float64Array(D);
      for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) acc[d] += v[(b * T + t) * D + d];
      for (let d = 0; d < D; d++) m[d] = n > 0 ? acc[d] / n : 0;
      out.push(m);
    });
  }
  return out;
}

// ============================================================================
// KV-cache decoding (used by sampling.ts)
// ============================================================================

export interface DecodeStep {
  /** log-probs of the next token under softmax(logits / temperature), [rows * vocab] (a copy) */
  logprobs: Float32Array;
  /** entropy of that distribution, [rows] */
  entropy: Float32Array;
}

/**
 * Incremental decoding over `rows` sequences. prefill() runs the left-padded
 * prompts; each step() appends one token per row. The log-probs of a token at
 * a position equal, bit for bit on the fast path, what score() and
 * tokenLogProbsAndEntropy() compute for that position (same kernels, same
 * order of every sum; padding contributes exact zeros).
 */
export interface Decoder {
  readonly rows: number;
  /** column of the next token to be written */
  readonly length: number;
  prefill(tokens: Int32Array, promptLen: number, offsets: Int32Array): DecodeStep;
  step(tokens: Int32Array): DecodeStep;
  dispose(): void;
}

interface DecodePlan {
  embed: ReturnType<Kernels['embed']>;
  ln: ReturnType<Kernels['layerNorm']>;
  qkv: Gemm;
  kWrite: ReturnType<Kernels['copy']>;
  vWrite: ReturnType<Kernels['copy']>;
  scores: Gemm;
  softmax: ReturnType<Kernels['softmax']>;
  pv: Gemm;
  proj: Gemm;
  fc1: Gemm;
  gelu: ReturnType<Kernels['gelu']>;
  fc2: Gemm;
  head: Gemm;
  lpe: ReturnType<Kernels['logpEnt']>;
}

function decodePlan(K: Kernels, cfg: ModelConfig, C: number): DecodePlan {
  return cached(K, `dec:${cfgKey(cfg)}:${C}`, () => {
    const D = cfg.d_model;
    const H = cfg.heads;
    const DH = D / H;
    const F = cfg.mlp_ratio * D;
    const V = cfg.vocab;
    const D3 = 3 * D;
    return {
      embed: K.embed(1, D, cfg.context),
      ln: K.layerNorm(D, LN_EPS),
      qkv: K.gemm({ N: D3, sai: D, sak: 1, sbk: D3, sci: D3, bias: true, MC: 64 }, 'matmul.qkv'),
      kWrite: K.copy({ n: [H, DH, 1], s: [D3, DH, 1, 0], d: [H * DH * C, DH * C, C, 1] }, 'kv-cache.write'),
      vWrite: K.copy({ n: [1, 1, D], s: [D3, 0, 0, 1], d: [C * D, 0, 0, 1] }, 'kv-cache.write'),
      scores: K.gemm({
        N: C, sai: D3, sak: 1, sbk: C, sci: C,
        nb2: H, sa1: D3, sb1: H * DH * C, sc1: H * C, sa2: DH, sb2: DH * C, sc2: C,
        alpha: 1 / Math.sqrt(DH),
      }, 'attn.scores'),
      softmax: K.softmax(H, 1, C),
      pv: K.gemm({ N: DH, sai: C, sak: 1, sbk: D, sci: D, nb2: H, sa1: H * C, sb1: C * D, sc1: D, sa2: C, sb2: DH, sc2: DH }, 'attn.pv'),
      proj: K.gemm({ N: D, sai: D, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64 }, 'matmul.attn-out'),
      fc1: K.gemm({ N: F, sai: D, sak: 1, sbk: F, sci: F, bias: true, MC: 64 }, 'matmul.fc1'),
      gelu: K.gelu(),
      fc2: K.gemm({ N: D, sai: F, sak: 1, sbk: D, sci: D, bias: true, residual: true, MC: 64 }, 'matmul.fc2'),
      head: K.gemm({ N: V, sai: D, sak: 1, sbk: V, sci: V, bias: true, MC: 64 }, 'matmul.head'),
      lpe: K.logpEnt(V),
    };
  });
}

/**
 * A decoder for `rows` sequences at a temperature (the log-probs it reports
 * use it). `capacity` is the number of columns the KV cache holds (default the
 * model context); it may exceed the context when rows are left-padded, since
 * a row's positions count from its first real token (they are clamped to the
 * context: the caller stops each row before its positions run out).
 */
export function createDecoder(model: Model, rows: number, temperature: number, capacity = model.config.context): Decoder {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 (got ${temperature})`);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`decoder rows must be a positive integer (got ${rows})`);
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`decoder capacity must be a positive integer (got ${capacity})`);
  return usesFastPath(model)
    ? new FastDecoder(model, rows, temperature, capacity)
    : new GenericDecoder(model, rows, temperature, capacity);
}

class FastDecoder implements Decoder {
  private readonly K: Kernels;
  private readonly dp: DecodePlan;
  private readonly arena: tf.Tensor;
  private readonly lay: Layout;
  private readonly buf: Record<string, number>;
  private readonly caches: { kt: number; v: number }[] = [];
  private offsets = new Int32Array(0);
  length = 0;
  private disposed = false;

  constructor(
    private readonly model: Model,
    readonly rows: number,
    private readonly temperature: number,
    private readonly capacity: number,
  ) {
    this.K = kernels()!;
    const cfg = model.config;
    this.dp = decodePlan(this.K, cfg, capacity);
    const B = rows;
    const D = cfg.d_model;
    const F = cfg.mlp_ratio * D;
    const C = capacity;
    const H = cfg.heads;
    this.lay = new Layout();
    const L = this.lay;
    for (let l = 0; l < cfg.layers; l++) this.caches.push({ kt: L.take(B * C * D), v: L.take(B * C * D) });
    this.buf = {
      tok: L.take(B),
      offs: L.take(B),
      tgt: L.take(B),
      x: L.take(B * D),
      x2: L.take(B * D),
      xmid: L.take(B * D),
      h: L.take(B * D),
      mean: L.take(B),
      rstd: L.take(B),
      qkv: L.take(B * 3 * D),
      s: L.take(B * H * C),
      p: L.take(B * H * C),
      att: L.take(B * D),
      u: L.take(B * F),
      g: L.take(B * F),
      logits: L.take(B * cfg.vocab),
      lp: L.take(B * cfg.vocab),
      logp: L.take(B),
      ent: L.take(B),
    };
    this.arena = this.K.alloc([L.floats]);
    // zero the caches: positions not yet written must be finite (they meet zero probabilities)
    this.K.zero(this.K.ptr(this.arena), L.floats);
  }

  private get base(): number {
    if (this.disposed) throw new Error('decoder used after dispose()');
    return this.K.ptr(this.arena);
  }

  /** final LayerNorm + head + log-probs for rows of x (byte pointer) */
  private finish(x: number): DecodeStep {
    const K = this.K;
    const cfg = this.model.config;
    const w = paramPtrs(K, this.model);
    const base = this.base;
    const B = this.rows;
    const b = this.buf;
    const V = cfg.vocab;
    this.dp.ln(x, w[fin(cfg, 0)], w[fin(cfg, 1)], base + b.h, base + b.mean, base + b.rstd, B);
    this.dp.head(base + b.h, w[fin(cfg, 2)], base + b.logits, w[fin(cfg, 3)], 0, B, 1, cfg.d_model);
    K.i32().fill(-1, (base + b.tgt) >> 2, ((base + b.tgt) >> 2) + B);
    this.dp.lpe(base + b.logits, base + b.tgt, base + b.logp, base + b.ent, base + b.lp, B, Math.fround(1 / this.temperature));
    const f32 = K.f32();
    return {
      logprobs: f32.slice((base + b.lp) >> 2, ((base + b.lp) >> 2) + B * V),
      entropy: f32.slice((base + b.ent) >> 2, ((base + b.ent) >> 2) + B),
    };
  }

  prefill(tokens: Int32Array, promptLen: number, offsets: Int32Array): DecodeStep {
    const K = this.K;
    const cfg = this.model.config;
    const B = this.rows;
    const T = promptLen;
    if (T < 1 || T > Math.min(cfg.context, this.capacity)) throw new Error(`prompt length ${T} must be in [1, ${Math.min(cfg.context, this.capacity)}]`);
    if (tokens.length !== B * T) throw new Error(`prefill: expected ${B * T} tokens, got ${tokens.length}`);
    checkTokens(tokens, cfg.vocab, 'prefill');
    this.offsets = checkOffsets(offsets, B, T).slice();
    const D = cfg.d_model;
    const C = this.capacity;
    const pl = plan(K, cfg, T, C);
    const fl = fwdLayout(cfg, B, T, false, true);
    const arena = K.alloc([fl.lay.floats]);
    try {
      const base = K.ptr(arena);
      writeInputs(K, base, fl, tokens, this.offsets, null, cfg.vocab);
      const cbase = this.base;
      const vCopy = K.copy({ n: [1, T, D], s: [T * 3 * D, 0, 3 * D, 1], d: [C * D, 0, D, 1] });
      fastForward(K, this.model, pl, fl, base, B, {
        ktBase: (l) => cbase + this.caches[l].kt,
        afterQkv: (l, qkv) => vCopy(qkv + 2 * D * 4, cbase + this.caches[l].v, B),
        head: false,
      });
      // the last column's hidden states
      K.copy({ n: [1, 1, D], s: [T * D, 0, 0, 1], d: [D, 0, 0, 1] })(base + fl.xL + (T - 1) * D * 4, cbase + this.buf.x, B);
      K.i32().set(this.offsets, (cbase + this.buf.offs) >> 2);
    } finally {
      arena.dispose();
    }
    this.length = T;
    return this.finish(this.base + this.buf.x);
  }

  step(tokens: Int32Array): DecodeStep {
    const K = this.K;
    const cfg = this.model.config;
    const B = this.rows;
    const c = this.length;
    if (c === 0) throw new Error('decoder: step() before prefill()');
    if (c >= this.capacity) throw new Error(`decoder: its ${this.capacity} columns are full`);
    if (tokens.length !== B) throw new Error(`step: expected ${B} tokens, got ${tokens.length}`);
    checkTokens(tokens, cfg.vocab, 'step');
    const w = paramPtrs(K, this.model);
    const base = this.base;
    const b = this.buf;
    const dp = this.dp;
    const D = cfg.d_model;
    const F = cfg.mlp_ratio * D;
    const DH = D / cfg.heads;
    K.i32().set(tokens, (base + b.tok) >> 2);
    dp.embed(base + b.tok, base + b.offs, w[P_WTE], w[P_WPE], base + b.x, B, c);
    let x = base + b.x;
    let y = base + b.x2;
    for (let l = 0; l < cfg.layers; l++) {
      const kc = base + this.caches[l].kt;
      const vc = base + this.caches[l].v;
      dp.ln(x, w[lp(l, L_LN1G)], w[lp(l, L_LN1B)], base + b.h, base + b.mean, base + b.rstd, B);
      dp.qkv(base + b.h, w[lp(l, L_QKVW)], base + b.qkv, w[lp(l, L_QKVB)], 0, B, 1, D);
      dp.kWrite(base + b.qkv + D * 4, kc + c * 4, B);
      dp.vWrite(base + b.qkv + 2 * D * 4, vc + c * D * 4, B);
      dp.scores(base + b.qkv, kc, base + b.s, 0, 0, 1, B, DH);
      dp.softmax(base + b.s, base + b.p, base + b.offs, B, c);
      dp.pv(base + b.p, vc, base + b.att, 0, 0, 1, B, c + 1);
      dp.proj(base + b.att, w[lp(l, L_OW)], base + b.xmid, w[lp(l, L_OB)], x, B, 1, D);
      dp.ln(base + b.xmid, w[lp(l, L_LN2G)], w[lp(l, L_LN2B)], base + b.h, base + b.mean, base + b.rstd, B);
      dp.fc1(base + b.h, w[lp(l, L_FC1W)], base + b.u, w[lp(l, L_FC1B)], 0, B, 1, D);
      dp.gelu(base + b.u, base + b.g, B * F);
      dp.fc2(base + b.g, w[lp(l, L_FC2W)], y, w[lp(l, L_FC2B)], base + b.xmid, B, 1, F);
      [x, y] = [y, x];
    }
    this.length = c + 1;
    return this.finish(x);
  }

  dispose(): void {
    if (!this.disposed) this.arena.dispose();
    this.disposed = true;
  }
}

class GenericDecoder implements Decoder {
  private caches: GenericCache[] | null = null;
  private offsets = new Int32Array(0);
  length = 0;

  constructor(
    private readonly model: Model,
    readonly rows: number,
    private readonly temperature: number,
    private readonly capacity: number,
  ) {}

  private run(tokens: Int32Array, T: number): DecodeStep {
    const B = this.rows;
    const cfg = this.model.config;
    checkTokens(tokens, cfg.vocab, 'decoder');
    const t0 = this.length;
    const old = this.caches;
    const tokT = tf.tensor2d(tokens, [B, T], 'int32');
    const { hidden, caches } = genericHidden(this.model, tokT, this.offsets, t0, old, true);
    tokT.dispose();
    if (old) for (const c of old) tf.dispose([c.k, c.v]);
    this.caches = caches;
    const r = tf.tidy(() => {
      const last = hidden.reshape([B, T, cfg.d_model]).slice([0, T - 1, 0], [B, 1, cfg.d_model]).reshape([B, cfg.d_model]) as tf.Tensor2D;
      // the same formulas as genericLogpEnt: logp = z - lse, H = lse - sum(softmax(z) z)
      const z = tf.mul(genericHead(this.model, last), Math.fround(1 / this.temperature));
      const lse = tf.logSumExp(z, -1, true);
      const lp = tf.sub(z, lse);
      const ent = tf.sub(lse.reshape([B]), tf.sum(tf.mul(tf.softmax(z), z), -1));
      return tf.concat([lp.reshape([-1]), ent]);
    });
    hidden.dispose();
    const v = r.dataSync() as Float32Array;
    r.dispose();
    this.length = t0 + T;
    const V = cfg.vocab;
    return { logprobs: v.slice(0, B * V), entropy: v.slice(B * V) };
  }

  prefill(tokens: Int32Array, promptLen: number, offsets: Int32Array): DecodeStep {
    if (promptLen < 1 || promptLen > Math.min(this.model.config.context, this.capacity))
      throw new Error(`prompt length ${promptLen} must be in [1, ${Math.min(this.model.config.context, this.capacity)}]`);
    if (tokens.length !== this.rows * promptLen) throw new Error(`prefill: expected ${this.rows * promptLen} tokens, got ${tokens.length}`);
    this.offsets = checkOffsets(offsets, this.rows, promptLen).slice();
    this.dispose();
    this.length = 0;
    return this.run(tokens, promptLen);
  }

  step(tokens: Int32Array): DecodeStep {
    if (this.length === 0) throw new Error('decoder: step() before prefill()');
    if (this.length >= this.capacity) throw new Error(`decoder: its ${this.capacity} columns are full`);
    return this.run(tokens, 1);
  }

  dispose(): void {
    if (this.caches) for (const c of this.caches) tf.dispose([c.k, c.v]);
    this.caches = null;
  }
}
