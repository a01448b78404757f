// The model's fast path (tfjs `wasm` with SIMD): forward and hand-written
// backward passes on rlgrid's WebAssembly kernels (../wasm/) in tfjs's heap,
// behind one tf.customGrad so the trainer still differentiates with
// tf.variableGrads. Plans and layouts: plans.ts.
import * as tf from '@tensorflow/tfjs';
import { kernels, type Kernels } from '../wasm/runtime.ts';
import { L_FC1B, L_FC1W, L_FC2B, L_FC2W, L_LN1B, L_LN1G, L_LN2B, L_LN2G, L_OB, L_OW, L_QKVB, L_QKVW, P_WPE, P_WTE, fin, lp, type Model } from './params.ts';
import { Layout, backPlan, dims, fwdLayout, layerOut, paramPtrs, plan, ragged, type FwdLayout, type Plan, type Ragged } from './plans.ts';

interface FwdOpts {
  /** where K^T goes for each layer (KV cache) and its row stride; default the arena */
  ktBase?: (l: number) => number;
  /** after each layer's QKV: e.g. copy V rows into a cache */
  afterQkv?: (l: number, qkv: number) => void;
  /** compute the final LayerNorm and the head (default true) */
  head?: boolean;
}

/** Run the forward over B rows of the plan's T columns. `base` is the arena's byte pointer. */
export function fastForward(K: Kernels, model: Model, pl: Plan, fl: FwdLayout, base: number, B: number, opts: FwdOpts = {}): void {
  const cfg = model.config;
  const w = paramPtrs(K, model);
  const rg = fl.ragged;
  const N = fl.N;
  const D = cfg.d_model;
  const F = cfg.mlp_ratio * D;
  const T = pl.T;
  const DH = D / cfg.heads;
  const pk = base + fl.pack;
  if (rg) pl.embedTok(base + fl.tok, base + fl.offs, w[P_WTE], w[P_WPE], base + fl.layers[0].x, N, 0);
  else pl.embed(base + fl.tok, base + fl.offs, w[P_WTE], w[P_WPE], base + fl.layers[0].x, B, 0);
  for (let l = 0; l < cfg.layers; l++) {
    const b = fl.layers[l];
    const x = base + b.x;
    const kt = opts.ktBase ? opts.ktBase(l) : base + b.kt;
    pl.ln(x, w[lp(l, L_LN1G)], w[lp(l, L_LN1B)], base + b.h1, base + b.mean1, base + b.rstd1, N);
    pl.qkv(base + b.h1, w[lp(l, L_QKVW)], base + b.qkv, w[lp(l, L_QKVB)], 0, N, 1, D, pk);
    // attention reads rows of T: the packed layout's rows are scattered out and its output gathered back
    const qkv = rg ? base + b.qkvP : base + b.qkv;
    if (rg) scatterRows(K, base + b.qkv, qkv, rg, T, 3 * D);
    pl.ktCopy(qkv + D * 4, kt, B);
    opts.afterQkv?.(l, qkv);
    pl.scores(qkv, kt, base + fl.s, 0, 0, T, B, DH);
    pl.softmax(base + fl.s, base + b.p, base + fl.rowOffs, B, 0);
    pl.pv(base + b.p, qkv + 2 * D * 4, rg ? base + fl.attP : base + b.att, 0, 0, T, B, T);
    if (rg) gatherRows(K, base + fl.attP, base + b.att, rg, T, D);
    pl.proj(base + b.att, w[lp(l, L_OW)], base + b.xmid, w[lp(l, L_OB)], x, N, 1, D, pk);
    pl.ln(base + b.xmid, w[lp(l, L_LN2G)], w[lp(l, L_LN2B)], base + b.h2, base + b.mean2, base + b.rstd2, N);
    pl.fc1(base + b.h2, w[lp(l, L_FC1W)], base + b.u, w[lp(l, L_FC1B)], 0, N, 1, D, pk);
    if (b.gt >= 0) pl.geluSave(base + b.u, base + b.g, N * F, base + b.gt);
    else pl.gelu(base + b.u, base + b.g, N * F);
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
  const rg = fl.ragged;
  const N = fl.N;
  const { D, H, DH, F, V, D3 } = dims(cfg);
  const grads = model.params.map((p) => K.alloc(p.shape));
  const g = grads.map((t) => K.ptr(t));
  const lay = new Layout();
  const dres = lay.take(N * D);
  const dh = lay.take(N * D);
  const datt = lay.take(N * D);
  const dqkv = lay.take(N * D3);
  // ragged: attention's gradients as [B, T] rows, gathered back into the packed ones
  const dattP = rg ? lay.take(B * T * D) : datt;
  const dqkvP = rg ? lay.take(B * T * D3) : dqkv;
  const dP = lay.take(B * H * T * T);
  const dg = lay.take(N * F);
  const vt = lay.take(B * T * D);
  const wT = lay.take(Math.max(D * D3, D * F, D * V));
  const pack = lay.take(Math.max(N * Math.max(D3, F, V), D * D3, D * F, D * V));
  const scratch = K.alloc([lay.floats]);
  const s = K.ptr(scratch);
  const pk = s + pack;
  // a linear layer y = x W + b, backward: dW = x^T dy, db = colsum(dy), dx = dy W^T (W^T built in wT)
  const linearBack = (x: number, dy: number, wi: number, bi: number, dx: number, din: number, dout: number): void => {
    bp.dW(din, dout)(x, dy, g[wi], 0, 0, din, 1, N, pk);
    bp.colSum(dout)(dy, g[bi], N);
    bp.transpose(din, dout)(w[wi], s + wT, 1);
    bp.dX(din, dout)(dy, s + wT, dx, 0, 0, N, 1, dout, pk);
  };
  // head
  linearBack(base + fl.hf, dlogits, fin(cfg, 2), fin(cfg, 3), s + dh, D, V);
  K.zero(g[fin(cfg, 0)], D);
  K.zero(g[fin(cfg, 1)], D);
  bp.lnBackSet(base + fl.xL, base + fl.meanf, base + fl.rstdf, w[fin(cfg, 0)], s + dh, s + dres, g[fin(cfg, 0)], g[fin(cfg, 1)], N);
  for (let l = cfg.layers - 1; l >= 0; l--) {
    const b = fl.layers[l];
    if (b.gt < 0) throw new Error('fastBackward needs a training layout (distinct buffers, GELU tanh kept)');
    // MLP: out = xmid + gelu(ln2(xmid) W1 + b1) W2 + b2
    linearBack(base + b.g, s + dres, lp(l, L_FC2W), lp(l, L_FC2B), s + dg, F, D);
    bp.gelu(base + b.u, s + dg, s + dg, N * F, base + b.gt);
    linearBack(base + b.h2, s + dg, lp(l, L_FC1W), lp(l, L_FC1B), s + dh, D, F);
    K.zero(g[lp(l, L_LN2G)], D);
    K.zero(g[lp(l, L_LN2B)], D);
    bp.lnBackAcc(base + b.xmid, base + b.mean2, base + b.rstd2, w[lp(l, L_LN2G)], s + dh, s + dres, g[lp(l, L_LN2G)], g[lp(l, L_LN2B)], N);
    // attention: xmid = x + attn(ln1(x)) Wo + bo
    linearBack(base + b.att, s + dres, lp(l, L_OW), lp(l, L_OB), s + datt, D, D);
    const qkv = rg ? base + b.qkvP : base + b.qkv;
    if (rg) scatterRows(K, s + datt, s + dattP, rg, T, D);
    bp.vtCopy(qkv + 2 * D * 4, s + vt, B);
    bp.dP(s + dattP, s + vt, s + dP, 0, 0, T, B, DH);
    bp.softmaxBack(base + b.p, s + dP, s + dP, B * H * T);
    bp.dQ(s + dP, qkv + D * 4, s + dqkvP, 0, 0, T, B, T);
    bp.dK(s + dP, qkv, s + dqkvP + D * 4, 0, 0, T, B, T);
    bp.dV(base + b.p, s + dattP, s + dqkvP + 2 * D * 4, 0, 0, T, B, T);
    if (rg) gatherRows(K, s + dqkvP, s + dqkv, rg, T, D3);
    linearBack(base + b.h1, s + dqkv, lp(l, L_QKVW), lp(l, L_QKVB), s + dh, D, D3);
    K.zero(g[lp(l, L_LN1G)], D);
    K.zero(g[lp(l, L_LN1B)], D);
    bp.lnBackAcc(base + b.x, base + b.mean1, base + b.rstd1, w[lp(l, L_LN1G)], s + dh, s + dres, g[lp(l, L_LN1G)], g[lp(l, L_LN1B)], N);
  }
  if (rg) bp.embedTok(base + fl.tok, base + fl.offs, s + dres, g[P_WTE], g[P_WPE], N);
  else bp.embed(base + fl.tok, base + fl.offs, s + dres, g[P_WTE], g[P_WPE], B);
  scratch.dispose();
  return grads;
}

/**
 * Copy tokens [B, T] (and offsets, and targets: -1 outside the vocabulary)
 * into the arena; with a ragged layout, only each row's lens[b] tokens,
 * packed, and each token's position as an offset of minus that position.
 */
export function writeInputs(K: Kernels, base: number, fl: FwdLayout, tok: Int32Array, offs: Int32Array, tgt: Int32Array | null, V: number): void {
  const i32 = K.i32();
  const valid = (t: number) => (t >= 0 && t < V ? t : -1);
  const rg = fl.ragged;
  if (!rg) {
    i32.set(tok, (base + fl.tok) >> 2);
    i32.set(offs, (base + fl.offs) >> 2);
    if (tgt) i32.set(tgt.map(valid), (base + fl.tgt) >> 2);
    return;
  }
  const T = tok.length / rg.lens.length;
  i32.set(rg.first, (base + fl.rowOffs) >> 2);
  rg.lens.forEach((L, b) => {
    const from = b * T + rg.first[b];
    const at = rg.starts[b];
    i32.set(tok.subarray(from, from + L), ((base + fl.tok) >> 2) + at);
    for (let t = 0; t < L; t++) i32[((base + fl.offs) >> 2) + at + t] = -t;
    if (tgt) for (let t = 0; t < L; t++) i32[((base + fl.tgt) >> 2) + at + t] = valid(tgt[from + t]);
  });
}

/** Packed rows (width floats a token) to [B, T] rows, the padding zeroed. */
function scatterRows(K: Kernels, src: number, dst: number, rg: Ragged, T: number, width: number): void {
  const f32 = K.f32();
  rg.lens.forEach((L, b) => {
    const row = (dst >> 2) + b * T * width;
    const d = row + rg.first[b] * width;
    const s = (src >> 2) + rg.starts[b] * width;
    f32.fill(0, row, d);
    f32.copyWithin(d, s, s + L * width);
    f32.fill(0, d + L * width, row + T * width);
  });
}

/** [B, T] rows to packed rows: each row's lens[b] tokens. */
function gatherRows(K: Kernels, src: number, dst: number, rg: Ragged, T: number, width: number): void {
  const f32 = K.f32();
  rg.lens.forEach((L, b) => {
    const s = (src >> 2) + (b * T + rg.first[b]) * width;
    f32.copyWithin((dst >> 2) + rg.starts[b] * width, s, s + L * width);
  });
}

/**
 * Activation arenas kept for a backward pass, with the gradient tape they were
 * recorded on. tf.customGrad's save() would clone the arena (on wasm, a copy of
 * ~80 MB per training step, ~8% of it), so the arena is kept by hand instead:
 * the backward pass frees it, and one whose tape ended without reaching it
 * (its output did not feed the differentiated value) is freed by the next
 * forward pass.
 */
const kept: { arena: tf.Tensor; tape: unknown }[] = [];

function freeStaleArenas(): void {
  const tape = tf.engine().state.activeTape;
  for (let i = kept.length - 1; i >= 0; i--) {
    if (kept[i].tape === tape) continue;
    kept[i].arena.dispose();
    kept.splice(i, 1);
  }
}

/**
 * The fast forward as a customGrad op over all parameters. `mode` 'logits'
 * returns logits [B, T, V]; 'logpEnt' returns [2, B, T] (logp, entropy).
 * With `lens` (right padding: row b's real tokens are its first lens[b];
 * 'logpEnt' only) the padding is not computed: the ragged layout (plans.ts),
 * and logp and entropy are 0 there.
 */
export function fastOp(
  model: Model,
  tok: Int32Array,
  offs: Int32Array,
  B: number,
  T: number,
  mode: 'logits' | 'logpEnt',
  tgt: Int32Array | null,
  temperature: number,
  lens: Int32Array | null = null,
): tf.Tensor {
  const K = kernels()!;
  const cfg = model.config;
  const V = cfg.vocab;
  const rg = lens && mode === 'logpEnt' ? ragged(lens) : null;
  const invT = Math.fround(1 / temperature);
  freeStaleArenas();
  // is this call recorded for a gradient (as customGrad decides whether to save)?
  const st = tf.engine().state;
  const tape = st.gradientDepth > 0 && st.kernelDepth === 0 ? st.activeTape : null;
  const op = tf.customGrad(() => {
    const pl = plan(K, cfg, T, T);
    const fl = fwdLayout(cfg, B, T, true, false, rg);
    const N = fl.N;
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
      if (rg) {
        pl.lpe(base + fl.logits, base + fl.tgt, base + fl.logp, base + fl.ent, 0, N, invT);
        scatterRows(K, base + fl.logp, vp, rg, T, 1);
        scatterRows(K, base + fl.ent, vp + B * T * 4, rg, T, 1);
      } else pl.lpe(base + fl.logits, base + fl.tgt, vp, vp + N * 4, 0, N, invT);
    }
    // without a tape no backward pass can run: the forward's tidy frees the arena
    if (tape) kept.push({ arena: tf.keep(arena), tape });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        let dlog: tf.Tensor | null = null;
        let dyPacked: tf.Tensor | null = null;
        let dlogPtr: number;
        if (mode === 'logits') {
          dlogPtr = K.ptr(dy);
        } else {
          dlog = K.alloc([N, V]);
          dlogPtr = K.ptr(dlog);
          let dyp = K.ptr(dy);
          if (rg) {
            dyPacked = K.alloc([2, N]);
            const pp = K.ptr(dyPacked);
            gatherRows(K, dyp, pp, rg, T, 1);
            gatherRows(K, dyp + B * T * 4, pp + N * 4, rg, T, 1);
            dyp = pp;
          }
          const sbase = K.ptr(arena);
          backPlan(K, cfg, T).lpe(sbase + fl.logits, sbase + fl.tgt, dyp, dyp + N * 4, dlogPtr, N, invT);
        }
        const grads = fastBackward(K, model, T, B, fl, K.ptr(arena), dlogPtr);
        dlog?.dispose();
        dyPacked?.dispose();
        const i = kept.findIndex((k) => k.arena === arena);
        if (i >= 0) kept.splice(i, 1);
        arena.dispose();
        return grads;
      },
    };
  });
  return op(...model.params);
}
