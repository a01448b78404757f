// The model's configuration and parameters: a flat, ordered list of named
// tf.Variables with a deterministic seeded initialisation (Rng, not tf's
// initialisers); creating, copying and disposing models; the parameter
// indices and input checks both forward paths (generic.ts, fast.ts) share.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import { kernels } from '../wasm/runtime.ts';

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
export const P_WTE = 0;
export const P_WPE = 1;
const PER_LAYER = 12;
export const L_LN1G = 0;
export const L_LN1B = 1;
export const L_QKVW = 2;
export const L_QKVB = 3;
export const L_OW = 4;
export const L_OB = 5;
export const L_LN2G = 6;
export const L_LN2B = 7;
export const L_FC1W = 8;
export const L_FC1B = 9;
export const L_FC2W = 10;
export const L_FC2B = 11;
export const lp = (l: number, k: number) => 2 + l * PER_LAYER + k;
export const fin = (cfg: ModelConfig, k: number) => 2 + cfg.layers * PER_LAYER + k; // 0 lnf.g, 1 lnf.b, 2 head.w, 3 head.b

export function checkOffsets(offsets: Int32Array | null | undefined, B: number, T: number): Int32Array {
  if (!offsets) return new Int32Array(B);
  if (offsets.length !== B) throw new Error(`offsets: expected ${B} values, got ${offsets.length}`);
  for (const o of offsets) if (!Number.isInteger(o) || o < 0 || o > T) throw new Error(`offsets: ${o} is outside [0, ${T}]`);
  return offsets;
}

export function checkTokens(tok: Int32Array, V: number, what: string): void {
  for (let i = 0; i < tok.length; i++) {
    const t = tok[i];
    if (!(t >= 0 && t < V)) throw new Error(`${what}: token ${t} at ${i} is outside the vocabulary [0, ${V})`);
  }
}
