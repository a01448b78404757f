// Kernel generators at the model's two ends, forward and backward: token +
// position embeddings, column sums (bias gradients), and the head's per-token
// log-prob of the target and entropy from the logits (compile-time shapes:
// kernels-gemm.ts).
import { F32, I32, V128 } from './encoding.ts';
import { Fn, type ExpConsts } from './fn.ts';
import { LOG_FN } from './writer.ts';

/**
 * Embedding: x[b, t] = wte[tok[b, t]] + wpe[clamp(t0 + t - off[b], 0, P - 1)].
 * exported signature: (tok, offs, wte, wpe, x, nb, t0)
 */
export function embedKernel(T: number, D: number, P: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, I32]);
  const [TOK, OFFS, WTE, WPE, X, NB, T0] = [0, 1, 2, 3, 4, 5, 6];
  const off = f.local(I32);
  const pos = f.local(I32);
  const pe = f.local(I32);
  const pt = f.local(I32);
  f.repeat({ local: NB }, () => {
    f.get(OFFS).i32load().set(off);
    f.for(T, (t) => {
      f.get(T0).get(t).add().get(off).sub().set(pos);
      f.i32(0).get(pos).get(pos).i32(0).ltS().select().set(pos);
      f.i32(P - 1).get(pos).get(pos).i32(P - 1).geS().select().set(pos);
      f.get(WPE).get(pos).i32(D * 4).mul().add().set(pe);
      f.get(WTE).get(TOK).i32load().i32(D * 4).mul().add().set(pt);
      for (let c = 0; c < D / 4; c++) f.get(X).get(pt).vload(c * 16).get(pe).vload(c * 16).vadd().vstore(c * 16);
      f.inc(TOK, 4).inc(X, D * 4);
    });
    f.inc(OFFS, 4);
  });
  return f;
}

/**
 * Embedding backward: zero dwte [V, D] and dwpe [P, D], then add each row of dx
 * into its token's and its position's row, rows in order.
 * exported signature: (tok, offs, dx, dwte, dwpe, nb)
 */
export function embedBackKernel(T: number, D: number, V: number, P: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32]);
  const [TOK, OFFS, DX, DWTE, DWPE, NB] = [0, 1, 2, 3, 4, 5];
  const off = f.local(I32);
  const pos = f.local(I32);
  const pe = f.local(I32);
  const pt = f.local(I32);
  f.for((V * D) / 4, (i) => {
    f.get(DWTE).get(i).i32(16).mul().add().vzero().vstore();
  });
  f.for((P * D) / 4, (i) => {
    f.get(DWPE).get(i).i32(16).mul().add().vzero().vstore();
  });
  f.repeat({ local: NB }, () => {
    f.get(OFFS).i32load().set(off);
    f.for(T, (t) => {
      f.get(t).get(off).sub().set(pos);
      f.i32(0).get(pos).get(pos).i32(0).ltS().select().set(pos);
      f.get(DWPE).get(pos).i32(D * 4).mul().add().set(pe);
      f.get(DWTE).get(TOK).i32load().i32(D * 4).mul().add().set(pt);
      for (let c = 0; c < D / 4; c++) {
        f.get(pt).get(pt).vload(c * 16).get(DX).vload(c * 16).vadd().vstore(c * 16);
        f.get(pe).get(pe).vload(c * 16).get(DX).vload(c * 16).vadd().vstore(c * 16);
      }
      f.inc(TOK, 4).inc(DX, D * 4);
    });
    f.inc(OFFS, 4);
  });
  return f;
}

/**
 * Column sums: out[j] = sum_i x[i, j] over `rows` rows of `cols`, rows in order.
 * exported signature: (x, out, rows)
 */
export function colSumKernel(cols: number): Fn {
  const f = new Fn('k', [I32, I32, I32]);
  const [X, OUT, ROWS] = [0, 1, 2];
  const nv = cols >> 2;
  const ns = cols & 3;
  for (let c = 0; c < nv; c++) f.get(OUT).vzero().vstore(c * 16);
  for (let c = 0; c < ns; c++) f.get(OUT).f32(0).f32store((nv * 4 + c) * 4);
  f.repeat({ local: ROWS }, () => {
    for (let c = 0; c < nv; c++) f.get(OUT).get(OUT).vload(c * 16).get(X).vload(c * 16).vadd().vstore(c * 16);
    for (let c = 0; c < ns; c++) {
      const o = (nv * 4 + c) * 4;
      f.get(OUT).get(OUT).f32load(o).get(X).f32load(o).fadd().f32store(o);
    }
    f.inc(X, cols * 4);
  });
  return f;
}

/**
 * Per row of V logits, z = logits * invTemp: lse = max + log(sum exp(z - max)),
 * entropy = lse - sum(e z) / sum(e), logp = z[target] - lse (0 when target < 0),
 * and, when `lp` is non-zero, the full row of log-probs z - lse.
 * Sums run over lanes j mod 4, then lanes in order, then the tail: fixed for a
 * given V, so every row gets the same arithmetic. exported signature:
 * (logits, targets, logp, ent, lp, rows, invTemp: f32)
 */
export function logpEntKernel(V: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, F32]);
  const [LG, TG, LOGP, ENT, LP, ROWS, IT] = [0, 1, 2, 3, 4, 5, 6];
  emitRowStats(f, V, LG, IT, (st) => {
    // logp of the target
    f.get(TG).i32load().i32(0).ltS().if();
    f.f32(0).set(st.tmpf);
    f.else();
    f.get(LG).get(TG).i32load().i32(4).mul().add().f32load().get(IT).fmul().get(st.lse).fsub().set(st.tmpf);
    f.end();
    f.get(LOGP).get(st.tmpf).f32store();
    f.get(ENT).get(st.lse).get(st.sez).get(st.se).fdiv().fsub().f32store();
    f.get(LP).eqz().eqz().if();
    for (let c = 0; c < V; c++) {
      f.get(LP).get(LG).f32load(c * 4).get(IT).fmul().get(st.lse).fsub().f32store(c * 4);
    }
    f.inc(LP, V * 4);
    f.end();
    f.inc(LG, V * 4).inc(TG, 4).inc(LOGP, 4).inc(ENT, 4);
  }, ROWS);
  return f;
}

/**
 * Backward of logpEnt: dlogits = invTemp * (dlogp (onehot - p) - dent p (z - sum(p z))).
 * exported signature: (logits, targets, dlogp, dent, dlogits, rows, invTemp: f32)
 */
export function logpEntBackKernel(V: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, F32]);
  const [LG, TG, DLOGP, DENT, DL, ROWS, IT] = [0, 1, 2, 3, 4, 5, 6];
  emitRowStats(f, V, LG, IT, (st) => {
    const tgt = f.local(I32);
    const mean = f.local(F32);
    const dlp = f.local(F32);
    const den = f.local(F32);
    const p = f.local(F32);
    const z = f.local(F32);
    f.get(TG).i32load().set(tgt);
    f.get(st.sez).get(st.se).fdiv().set(mean);
    // a row without a target has logp = 0, a constant: no gradient through it
    f.f32(0).get(DLOGP).f32load().get(tgt).i32(0).ltS().select().set(dlp);
    f.get(DENT).f32load().set(den);
    for (let c = 0; c < V; c++) {
      f.get(LG).f32load(c * 4).get(IT).fmul().set(z);
      // p = exp(z - lse), computed like the forward's e / sum(e)
      f.get(z).get(st.m).fsub().vsplat().set(st.x);
      f.vexp(st.x, st.e, st.t, st.k);
      f.get(st.e).lane(0).get(st.se).fdiv().set(p);
      f.get(DL);
      // dlogp * (onehot - p)
      f.get(dlp).f32(1).f32(0).get(tgt).i32(c).eq().select().get(p).fsub().fmul();
      // - dent * p * (z - mean)
      f.get(den).get(p).fmul().get(z).get(mean).fsub().fmul().fsub();
      f.get(IT).fmul().f32store(c * 4);
    }
    f.inc(LG, V * 4).inc(TG, 4).inc(DLOGP, 4).inc(DENT, 4).inc(DL, V * 4);
  }, ROWS);
  return f;
}

interface RowStats {
  k: ExpConsts;
  m: number;
  se: number;
  sez: number;
  lse: number;
  tmpf: number;
  x: number;
  e: number;
  t: [number, number, number, number];
}

/** per row: m = max z, se = sum exp(z - m), sez = sum exp(z - m) z, lse = m + log(se) */
function emitRowStats(f: Fn, V: number, LG: number, IT: number, body: (st: RowStats) => void, ROWS: number): void {
  const st: RowStats = {
    k: f.expConsts(),
    m: f.local(F32),
    se: f.local(F32),
    sez: f.local(F32),
    lse: f.local(F32),
    tmpf: f.local(F32),
    x: f.local(V128),
    e: f.local(V128),
    t: [f.local(V128), f.local(V128), f.local(V128), f.local(V128)],
  };
  const vit = f.local(V128);
  const vm = f.local(V128);
  const z = f.local(V128);
  const a1 = f.local(V128);
  const a2 = f.local(V128);
  const nv = V >> 2;
  const ns = V & 3;
  f.get(IT).vsplat().set(vit);
  f.repeat({ local: ROWS }, () => {
    // max
    f.f32(-Infinity).set(st.m);
    if (nv > 0) {
      f.get(LG).vload().get(vit).vmul().set(vm);
      for (let c = 1; c < nv; c++) f.get(vm).get(LG).vload(c * 16).get(vit).vmul().vmax().set(vm);
      f.hmax(vm).set(st.m);
    }
    for (let c = 0; c < ns; c++) f.get(st.m).get(LG).f32load((nv * 4 + c) * 4).get(IT).fmul().fmax().set(st.m);
    f.get(st.m).vsplat().set(vm);
    // sums
    f.vzero().set(a1).vzero().set(a2);
    for (let c = 0; c < nv; c++) {
      f.get(LG).vload(c * 16).get(vit).vmul().set(z);
      f.get(z).get(vm).vsub().set(st.x);
      f.vexp(st.x, st.e, st.t, st.k);
      f.get(a1).get(st.e).vadd().set(a1);
      f.get(a2).get(st.e).get(z).vmul().vadd().set(a2);
    }
    f.hsum(a1).set(st.se).hsum(a2).set(st.sez);
    for (let c = 0; c < ns; c++) {
      f.get(LG).vsplatload((nv * 4 + c) * 4).get(vit).vmul().set(z);
      f.get(z).get(vm).vsub().set(st.x);
      f.vexp(st.x, st.e, st.t, st.k);
      f.get(st.se).get(st.e).lane(0).fadd().set(st.se);
      f.get(st.sez).get(st.e).get(z).vmul().lane(0).fadd().set(st.sez);
    }
    f.get(st.m).get(st.se).f32ToF64().call(LOG_FN).f64ToF32().fadd().set(st.lse);
    body(st);
  });
}
