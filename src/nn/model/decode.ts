// KV-cache decoding (used by ../sampling.ts): one token per row per step, on
// the fast path (kernels, bit-identical to full-sequence scoring) or the
// generic path (tfjs ops).
import * as tf from '@tensorflow/tfjs';
import { kernels, type Kernels } from '../wasm/runtime.ts';
import { fastForward, writeInputs } from './fast.ts';
import { genericHead, genericHidden, type GenericCache } from './generic.ts';
import { L_FC1B, L_FC1W, L_FC2B, L_FC2W, L_LN1B, L_LN1G, L_LN2B, L_LN2G, L_OB, L_OW, L_QKVB, L_QKVW, P_WPE, P_WTE, checkOffsets, checkTokens, fin, lp, type Model, usesFastPath } from './params.ts';
import { Layout, decodePlan, fwdLayout, paramPtrs, plan, ragged, type DecodePlan } from './plans.ts';

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
  /** rows decoded now (keep() lowers it) */
  readonly rows: number;
  /** column of the next token to be written */
  readonly length: number;
  prefill(tokens: Int32Array, promptLen: number, offsets: Int32Array): DecodeStep;
  step(tokens: Int32Array): DecodeStep;
  /**
   * Keep only these rows (ascending indices of the current rows), in order:
   * later steps take, and report, one token per kept row. A row's numbers do
   * not depend on the other rows, so finished rows can be dropped without
   * changing the others'.
   */
  keep(rows: readonly number[]): void;
  dispose(): void;
}

function checkKeep(rows: readonly number[], n: number): void {
  rows.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= n || (i > 0 && r <= rows[i - 1])) throw new Error(`keep: rows must be ascending indices below ${n} (got ${rows.join(', ')})`);
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
    public rows: number,
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
      // the linear layers' weight panels, packed per call (plans.ts: packB)
      pack: L.take(Math.max(D * 3 * D, D * F, D * cfg.vocab)),
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
    // the prompts without their left padding (plans.ts, Ragged), unless a row is all padding
    const rg = this.offsets.every((o) => o < T) ? ragged(this.offsets.map((o) => T - o), this.offsets) : null;
    const fl = fwdLayout(cfg, B, T, false, true, rg);
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
      const f32 = K.f32();
      for (let b = 0; b < B; b++) {
        const from = ((base + fl.xL) >> 2) + (rg ? rg.starts[b] + rg.lens[b] - 1 : b * T + T - 1) * D;
        f32.copyWithin(((cbase + this.buf.x) >> 2) + b * D, from, from + D);
      }
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
      dp.qkv(base + b.h, w[lp(l, L_QKVW)], base + b.qkv, w[lp(l, L_QKVB)], 0, B, 1, D, base + b.pack);
      dp.kWrite(base + b.qkv + D * 4, kc + c * 4, B);
      dp.vWrite(base + b.qkv + 2 * D * 4, vc + c * D * 4, B);
      // only the filled columns (the softmax reads no others): rounded up to 8, few kernels
      dp.scores(Math.min(this.capacity, Math.ceil((c + 1) / 8) * 8))(base + b.qkv, kc, base + b.s, 0, 0, 1, B, DH);
      dp.softmax(base + b.s, base + b.p, base + b.offs, B, c);
      dp.pv(base + b.p, vc, base + b.att, 0, 0, 1, B, c + 1);
      dp.proj(base + b.att, w[lp(l, L_OW)], base + b.xmid, w[lp(l, L_OB)], x, B, 1, D, base + b.pack);
      dp.ln(base + b.xmid, w[lp(l, L_LN2G)], w[lp(l, L_LN2B)], base + b.h, base + b.mean, base + b.rstd, B);
      dp.fc1(base + b.h, w[lp(l, L_FC1W)], base + b.u, w[lp(l, L_FC1B)], 0, B, 1, D, base + b.pack);
      dp.gelu(base + b.u, base + b.g, B * F);
      dp.fc2(base + b.g, w[lp(l, L_FC2W)], y, w[lp(l, L_FC2B)], base + b.xmid, B, 1, F, base + b.pack);
      [x, y] = [y, x];
    }
    this.length = c + 1;
    return this.finish(x);
  }

  keep(rows: readonly number[]): void {
    checkKeep(rows, this.rows);
    const K = this.K;
    const base = this.base;
    const CD = this.capacity * this.model.config.d_model;
    const f32 = K.f32();
    const i32 = K.i32();
    const offs = (base + this.buf.offs) >> 2;
    // a row's state: its K^T and V cache blocks (CD floats each) and its offset
    rows.forEach((r, i) => {
      if (r === i) return;
      for (const c of this.caches)
        for (const at of [c.kt, c.v]) f32.copyWithin(((base + at) >> 2) + i * CD, ((base + at) >> 2) + r * CD, ((base + at) >> 2) + (r + 1) * CD);
      i32[offs + i] = i32[offs + r];
    });
    this.offsets = Int32Array.from(rows, (r) => this.offsets[r]);
    this.rows = rows.length;
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
    public rows: number,
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

  keep(rows: readonly number[]): void {
    checkKeep(rows, this.rows);
    if (this.caches) {
      const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
      const old = this.caches;
      this.caches = old.map((c) => ({ k: tf.gather(c.k, idx), v: tf.gather(c.v, idx) }));
      for (const c of old) tf.dispose([c.k, c.v]);
      idx.dispose();
    }
    this.offsets = Int32Array.from(rows, (r) => this.offsets[r]);
    this.rows = rows.length;
  }

  dispose(): void {
    if (this.caches) for (const c of this.caches) tf.dispose([c.k, c.v]);
    this.caches = null;
  }
}
