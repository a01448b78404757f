// The model's generic path: plain tfjs ops and tfjs autograd, on any backend
// (cpu, tensorflow, wasm without SIMD). Same maths as fast.ts; tests check the
// two agree (values and gradients).
import * as tf from '@tensorflow/tfjs';
import { LN_EPS, L_FC1B, L_FC1W, L_FC2B, L_FC2W, L_LN1B, L_LN1G, L_LN2B, L_LN2G, L_OB, L_OW, L_QKVB, L_QKVW, P_WPE, P_WTE, fin, lp, type Model } from './params.ts';

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

export interface GenericCache {
  k: tf.Tensor4D; // [B, H, L, DH]
  v: tf.Tensor4D;
}

/**
 * Hidden states after the final LayerNorm [B*T, D] for tokens at columns
 * t0..t0+T-1, attending to `past` keys (columns 0..t0-1) when given; returns
 * the new caches when `wantCache`.
 */
export function genericHidden(
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

export function genericHead(model: Model, hidden: tf.Tensor2D): tf.Tensor2D {
  const cfg = model.config;
  return tf.add(tf.matMul(hidden, model.params[fin(cfg, 2)] as tf.Tensor2D), model.params[fin(cfg, 3)]) as tf.Tensor2D;
}

/** logp of targets (0 where the target is outside the vocabulary) and entropy, from logits [R, V] */
export function genericLogpEnt(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature: number): { logp: tf.Tensor1D; ent: tf.Tensor1D } {
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
