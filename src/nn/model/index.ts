// A small causal transformer LM (GPT-2 shape, as bench/torch_ref.py): learned
// token and position embeddings, pre-LayerNorm blocks with fused-QKV
// multi-head attention and a GELU(tanh) MLP, a final LayerNorm and an untied
// output head. This file is the model's public API (forward, log-probs and
// entropy, hidden states, scoring); the rest of src/nn/model/:
// - params.ts: config, parameters (seeded initialisation), create/dispose;
// - fast.ts, plans.ts (tfjs `wasm` with SIMD): rlgrid's WebAssembly kernels
//   (../wasm/) in tfjs's heap, with a hand-written backward pass behind one
//   tf.customGrad, so the trainer still differentiates with tf.variableGrads;
// - generic.ts (any backend: cpu, tensorflow, wasm without SIMD): plain tfjs
//   ops and tfjs autograd. Tests check the two agree (values and gradients);
// - decode.ts: KV-cache decoding for ../sampling.ts.
//
// Padding: rows may be left-padded (`offsets[b]` pad tokens before row b's
// first real token). A row's real positions then see exactly what they would
// see unpadded: positions count from the first real token, and attention never
// reaches a pad key. Right padding needs nothing (attention is causal).
import * as tf from '@tensorflow/tfjs';
import { kernels } from '../wasm/runtime.ts';
import { fastForward, fastOp, writeInputs } from './fast.ts';
import { genericHead, genericHidden, genericLogpEnt } from './generic.ts';
import { checkOffsets, checkTokens, fin, type Model, usesFastPath } from './params.ts';
import { fwdLayout, paramPtrs, plan, ragged } from './plans.ts';
export { LN_EPS, createModel, disposeModel, getWeights, initialWeights, paramCount, paramSpecs, setWeights, usesFastPath, validateConfig, type Engine, type Model, type ModelConfig, type ParamSpec } from './params.ts';
export { geluOps } from './generic.ts';
export { createDecoder, type DecodeStep, type Decoder } from './decode.ts';

export interface ForwardOptions {
  /** left padding per row (pad tokens before the first real token); default none */
  offsets?: Int32Array;
}

export interface LogProbOptions extends ForwardOptions {
  /**
   * right padding: row b's real tokens are its first lengths[b] (no left
   * padding then). Positions past them give logp 0 and entropy 0 and take no
   * gradient; the fast path does not compute them.
   */
  lengths?: Int32Array;
}

function checkLengths(lengths: Int32Array, offs: Int32Array, B: number, T: number): void {
  if (lengths.length !== B) throw new Error(`lengths: expected ${B} values, got ${lengths.length}`);
  for (const l of lengths) if (!Number.isInteger(l) || l < 0 || l > T) throw new Error(`lengths: ${l} is outside [0, ${T}]`);
  if (offs.some((o) => o !== 0)) throw new Error('lengths (right padding) cannot be combined with offsets (left padding)');
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
 * [0, vocab) (e.g. -1 for padding) gives logp 0; so do positions past
 * `opts.lengths` (entropy 0 too), which the fast path does not compute.
 */
export function tokenLogProbsAndEntropy(
  model: Model,
  inputIds: tf.Tensor2D,
  targetIds: tf.Tensor2D,
  temperature: number,
  opts: LogProbOptions = {},
): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 (got ${temperature})`);
  const [B, T] = inputIds.shape;
  const cfg = model.config;
  if (targetIds.shape[0] !== B || targetIds.shape[1] !== T) throw new Error(`targets [${targetIds.shape}] do not match inputs [${inputIds.shape}]`);
  if (T > cfg.context) throw new Error(`sequence length ${T} exceeds the model context ${cfg.context}`);
  const offs = checkOffsets(opts.offsets, B, T);
  const lens = opts.lengths ?? null;
  if (lens) checkLengths(lens, offs, B, T);
  // the fast path leaves the padding out (a batch that is all padding is masked instead)
  const skipPadding = lens !== null && lens.some((l) => l > 0);
  if (usesFastPath(model)) {
    const tok = readTokens(inputIds, cfg.vocab, 'tokenLogProbsAndEntropy');
    const tgt = Int32Array.from(targetIds.dataSync());
    const run = () => {
      const both = fastOp(model, tok, offs, B, T, 'logpEnt', tgt, temperature, skipPadding ? lens : null);
      const [logp, entropy] = tf.unstack(both) as tf.Tensor2D[];
      both.dispose();
      return { logp, entropy };
    };
    return lens && !skipPadding ? tf.tidy(() => zeroPadding(run(), lens)) : run();
  }
  return tf.tidy(() => {
    const { hidden } = genericHidden(model, inputIds, offs);
    const { logp, ent } = genericLogpEnt(genericHead(model, hidden), targetIds.reshape([B * T]) as tf.Tensor1D, temperature);
    const out = { logp: logp.reshape([B, T]) as tf.Tensor2D, entropy: ent.reshape([B, T]) as tf.Tensor2D };
    return lens ? zeroPadding(out, lens) : out;
  });
}

/** logp and entropy 0 past each row's length */
function zeroPadding(x: { logp: tf.Tensor2D; entropy: tf.Tensor2D }, lens: Int32Array): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  const [B, T] = x.logp.shape;
  const real = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => t < lens[b])), [B, T], 'bool');
  const zero = tf.zerosLike(x.logp);
  return { logp: tf.where(real, x.logp, zero), entropy: tf.where(real, x.entropy, zero) };
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
    if (fast) {
      // the ragged layout: only each sequence's own tokens are computed
      const K = kernels()!;
      const rg = ragged(Int32Array.from(chunk, (s) => Math.max(0, s.length - 1)));
      if (rg.n === 0) {
        for (const _ of chunk) out.logp.push(new Float32Array(0)), out.entropy.push(new Float32Array(0));
        continue;
      }
      const fl = fwdLayout(cfg, B, T, false, false, rg);
      const arena = K.alloc([fl.lay.floats]);
      try {
        const base = K.ptr(arena);
        writeInputs(K, base, fl, tok, new Int32Array(B), tgt, cfg.vocab);
        const pl = plan(K, cfg, T, T);
        fastForward(K, model, pl, fl, base, B);
        pl.lpe(base + fl.logits, base + fl.tgt, base + fl.logp, base + fl.ent, 0, fl.N, Math.fround(1 / temperature));
        const f32 = K.f32();
        chunk.forEach((s, b) => {
          const at = rg.starts[b];
          out.logp.push(f32.slice(((base + fl.logp) >> 2) + at, ((base + fl.logp) >> 2) + at + rg.lens[b]));
          out.entropy.push(f32.slice(((base + fl.ent) >> 2) + at, ((base + fl.ent) >> 2) + at + rg.lens[b]));
        });
      } finally {
        arena.dispose();
      }
      continue;
    }
    const r = tf.tidy(() => {
      const tokT = tf.tensor2d(tok, [B, T], 'int32');
      const { hidden } = genericHidden(model, tokT, new Int32Array(B));
      const { logp, ent } = genericLogpEnt(genericHead(model, hidden), tf.tensor1d(tgt, 'int32'), temperature);
      return tf.stack([logp, ent]);
    });
    const v = r.dataSync() as Float32Array;
    r.dispose();
    const logp = v.subarray(0, B * T);
    const ent = v.subarray(B * T);
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
