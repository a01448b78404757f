// AdamW (decoupled weight decay, bias correction), global-norm gradient
// clipping, and the learning-rate schedule. Numerics follow PyTorch's AdamW
// (the single-tensor path): with t the step count,
//   p <- p * (1 - lr * wd)
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Weight decay applies to every parameter (as veRL's actor optimizer, which
// passes all parameters to torch.optim.AdamW); the default is 0.
// Clipping follows torch.nn.utils.clip_grad_norm_: with n the global L2 norm
// over all gradients, g <- g * min(1, max_norm / (n + 1e-6)); step() returns n
// before clipping.
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../config/job.ts';
import { kernels } from './wasm/runtime.ts';
import { ADAMW_CONSTS } from './wasm/kernels-optim.ts';

export type { OptimizerConfig };

/**
 * Learning rate at a 1-based `step` of `totalSteps`: linear warmup over
 * `warmup_steps` (lr * step / warmup), then constant, or cosine from lr down
 * to lr * min_lr_ratio at the last step. Pure.
 */
export function lrAt(step: number, cfg: OptimizerConfig, totalSteps: number): number {
  const w = Math.max(0, cfg.warmup_steps);
  if (w > 0 && step <= w) return (cfg.lr * Math.max(step, 0)) / w;
  if (cfg.schedule === 'constant') return cfg.lr;
  const span = Math.max(1, totalSteps - w);
  const progress = Math.min(1, Math.max(0, (step - w) / span));
  const r = cfg.min_lr_ratio;
  return cfg.lr * (r + (1 - r) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Everything needed to continue exactly where an optimizer stopped. */
export interface AdamWState {
  step: number;
  /** first and second moments, in parameter order */
  m: Float32Array[];
  v: Float32Array[];
}

export type Grads = tf.NamedTensorMap | readonly tf.Tensor[];

export class AdamW {
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  /**
   * `engine` 'auto' updates each parameter in one pass of rlgrid's AdamW kernel
   * on the tfjs `wasm` backend (bit-identical to the tfjs ops, ~10x faster);
   * 'generic' always uses the tfjs ops (tests compare the two).
   */
  constructor(
    readonly params: readonly tf.Variable[],
    readonly cfg: OptimizerConfig,
    readonly engine: 'auto' | 'generic' = 'auto',
  ) {
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zeros(p.shape), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zeros(p.shape), false)));
  }

  /** completed steps */
  get stepCount(): number {
    return this.t;
  }

  private gradList(grads: Grads): (tf.Tensor | null)[] {
    if (Array.isArray(grads)) {
      if (grads.length !== this.params.length) throw new Error(`expected ${this.params.length} gradients, got ${grads.length}`);
      return grads as tf.Tensor[];
    }
    const named = grads as tf.NamedTensorMap;
    return this.params.map((p) => named[p.name] ?? null);
  }

  /** The global L2 norm of the gradients (one read back to the CPU). */
  globalNorm(grads: Grads): number {
    const gs = this.gradList(grads).filter((g): g is tf.Tensor => g !== null);
    if (gs.length === 0) return 0;
    const sq = tf.tidy(() => tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
    const n = Math.sqrt(sq.dataSync()[0]);
    sq.dispose();
    return n;
  }

  /**
   * One update at learning rate `lr`. Gradients are keyed by variable name
   * (as tf.variableGrads returns them) or given in parameter order; a
   * parameter without a gradient is left alone (its moments too), like
   * PyTorch's skip of params whose .grad is None. Returns the global gradient
   * norm before clipping. The caller still owns (and disposes) the gradients.
   */
  step(grads: Grads, lr: number): number {
    const gs = this.gradList(grads);
    const norm = this.globalNorm(grads);
    const c = this.cfg;
    const scale = c.grad_clip !== null && c.grad_clip !== undefined && Number.isFinite(norm) ? Math.min(1, c.grad_clip / (norm + 1e-6)) : 1;
    this.t += 1;
    const bc1 = 1 - Math.pow(c.beta1, this.t);
    const bc2 = 1 - Math.pow(c.beta2, this.t);
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    const K = this.engine === 'auto' ? kernels() : null;
    const onHeap = (t: tf.Tensor | null) => t === null || K!.onHeap(t);
    if (K && this.params.every(onHeap) && gs.every(onHeap) && this.m.every(onHeap) && this.v.every(onHeap)) {
      // the same float32 constants the tfjs ops below would make of these numbers
      const consts: Record<(typeof ADAMW_CONSTS)[number], number> = {
        gradScale: scale,
        beta1: c.beta1,
        oneMinusBeta1: 1 - c.beta1,
        beta2: c.beta2,
        oneMinusBeta2: 1 - c.beta2,
        decay: c.weight_decay !== 0 ? 1 - lr * c.weight_decay : 1,
        bc2Sqrt,
        eps: c.eps,
        stepSize,
      };
      const ct = K.alloc([ADAMW_CONSTS.length]);
      K.f32().set(ADAMW_CONSTS.map((k) => consts[k]), K.ptr(ct) >> 2);
      const update = K.adamw();
      this.params.forEach((p, i) => {
        const g = gs[i];
        if (!g) return;
        const out = [K.alloc(p.shape), K.alloc(p.shape), K.alloc(p.shape)];
        update(K.ptr(p), K.ptr(g), K.ptr(this.m[i]), K.ptr(this.v[i]), K.ptr(out[0]), K.ptr(out[1]), K.ptr(out[2]), p.size, K.ptr(ct));
        p.assign(out[0]);
        this.m[i].assign(out[1]);
        this.v[i].assign(out[2]);
        tf.dispose(out);
      });
      ct.dispose();
      return norm;
    }
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g0 = gs[i];
        if (!g0) return;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = tf.add(tf.mul(this.m[i], c.beta1), tf.mul(g, 1 - c.beta1));
        const v = tf.add(tf.mul(this.v[i], c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
        const decayed = c.weight_decay !== 0 ? tf.mul(p, 1 - lr * c.weight_decay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), c.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
        this.m[i].assign(m);
        this.v[i].assign(v);
      });
    });
    return norm;
  }

  state(): AdamWState {
    return {
      step: this.t,
      m: this.m.map((x) => new Float32Array(x.dataSync() as Float32Array)),
      v: this.v.map((x) => new Float32Array(x.dataSync() as Float32Array)),
    };
  }

  setState(s: AdamWState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`optimizer state: bad step ${s.step}`);
    if (s.m.length !== this.params.length || s.v.length !== this.params.length)
      throw new Error(`optimizer state: expected ${this.params.length} moment tensors`);
    this.params.forEach((p, i) => {
      if (s.m[i].length !== p.size || s.v[i].length !== p.size)
        throw new Error(`optimizer state: moment ${i} has the wrong size for parameter ${p.name}`);
    });
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        this.m[i].assign(tf.tensor(s.m[i], p.shape, 'float32'));
        this.v[i].assign(tf.tensor(s.v[i], p.shape, 'float32'));
      });
    });
    this.t = s.step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
