// Kernel generators for a transformer block's element-wise and row-wise
// steps, forward and backward: LayerNorm, GELU(tanh) and the causal attention
// softmax with left padding (compile-time shapes: kernels-gemm.ts).
import { F32, I32, V128 } from './encoding.ts';
import { Fn, type ExpConsts } from './fn.ts';

/**
 * LayerNorm over rows of D (D % 4 == 0): y = (x - mean) * rstd * g + b, and the
 * per-row mean and rstd for the backward pass. eps 1e-5 (torch's default).
 * exported signature: (x, g, b, y, mean, rstd, rows)
 */
export function layerNormKernel(D: number, eps: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, I32]);
  const [X, G, Bt, Y, MEAN, RSTD, ROWS] = [0, 1, 2, 3, 4, 5, 6];
  const acc = f.local(V128);
  const d = f.local(V128);
  const mean = f.local(F32);
  const rstd = f.local(F32);
  const vm = f.local(V128);
  const vr = f.local(V128);
  const nv = D / 4;
  f.repeat({ local: ROWS }, () => {
    f.vzero().set(acc);
    for (let c = 0; c < nv; c++) f.get(acc).get(X).vload(c * 16).vadd().set(acc);
    f.hsum(acc).f32(D).fdiv().set(mean);
    f.get(mean).vsplat().set(vm);
    f.vzero().set(acc);
    for (let c = 0; c < nv; c++) {
      f.get(X).vload(c * 16).get(vm).vsub().set(d);
      f.get(acc).get(d).get(d).vmul().vadd().set(acc);
    }
    f.f32(1).hsum(acc).f32(D).fdiv().f32(eps).fadd().fsqrt().fdiv().set(rstd);
    f.get(rstd).vsplat().set(vr);
    for (let c = 0; c < nv; c++) {
      f.get(Y);
      f.get(X).vload(c * 16).get(vm).vsub().get(vr).vmul().get(G).vload(c * 16).vmul().get(Bt).vload(c * 16).vadd();
      f.vstore(c * 16);
    }
    f.get(MEAN).get(mean).f32store().get(RSTD).get(rstd).f32store();
    f.inc(X, D * 4).inc(Y, D * 4).inc(MEAN, 4).inc(RSTD, 4);
  });
  return f;
}

/**
 * LayerNorm backward. dx (+)= rstd * (dy*g - mean(dy*g) - xhat * mean(dy*g*xhat));
 * dg += dy * xhat, db += dy (accumulated over rows in order; the caller zeroes
 * them). `accumulate` adds dx into the existing buffer (the residual stream).
 * exported signature: (x, mean, rstd, g, dy, dx, dg, db, rows)
 */
export function layerNormBackKernel(D: number, accumulate: boolean): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [X, MEAN, RSTD, G, DY, DX, DG, DB, ROWS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const vm = f.local(V128);
  const vr = f.local(V128);
  const xh = f.local(V128);
  const dyg = f.local(V128);
  const dy = f.local(V128);
  const sa = f.local(V128);
  const sb = f.local(V128);
  const va = f.local(V128);
  const vb = f.local(V128);
  const nv = D / 4;
  f.repeat({ local: ROWS }, () => {
    f.get(MEAN).f32load().vsplat().set(vm);
    f.get(RSTD).f32load().vsplat().set(vr);
    f.vzero().set(sa).vzero().set(sb);
    for (let c = 0; c < nv; c++) {
      const o = c * 16;
      f.get(X).vload(o).get(vm).vsub().get(vr).vmul().set(xh);
      f.get(DY).vload(o).set(dy);
      f.get(dy).get(G).vload(o).vmul().set(dyg);
      f.get(sa).get(dyg).vadd().set(sa);
      f.get(sb).get(dyg).get(xh).vmul().vadd().set(sb);
      f.get(DG).get(DG).vload(o).get(dy).get(xh).vmul().vadd().vstore(o);
      f.get(DB).get(DB).vload(o).get(dy).vadd().vstore(o);
    }
    f.hsum(sa).f32(D).fdiv().vsplat().set(va);
    f.hsum(sb).f32(D).fdiv().vsplat().set(vb);
    for (let c = 0; c < nv; c++) {
      const o = c * 16;
      f.get(X).vload(o).get(vm).vsub().get(vr).vmul().set(xh);
      f.get(DX);
      f.get(DY).vload(o).get(G).vload(o).vmul().get(va).vsub().get(xh).get(vb).vmul().vsub().get(vr).vmul();
      if (accumulate) f.get(DX).vload(o).vadd();
      f.vstore(o);
    }
    f.inc(X, D * 4).inc(DY, D * 4).inc(DX, D * 4).inc(MEAN, 4).inc(RSTD, 4);
  });
  return f;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

interface GeluConsts {
  e: ExpConsts;
  a: number;
  twoC: number;
  two: number;
  half: number;
  c: number;
  threeA: number;
}

function geluConsts(f: Fn): GeluConsts {
  const c = (x: number) => {
    const l = f.local(V128);
    f.vconst(x).set(l);
    return l;
  };
  return { e: f.expConsts(), a: c(GELU_A), twoC: c(2 * GELU_C), two: c(2), half: c(0.5), c: c(GELU_C), threeA: c(3 * GELU_A) };
}

/** emit tanh(c * (u + a u^3)) of local u into local t (t = 1 - 2 / (exp(2z) + 1)) */
function emitGeluTanh(f: Fn, u: number, t: number, tmp: number[], k: GeluConsts): void {
  const [z, e, s0, s1, s2, s3] = tmp;
  f.get(u).get(u).vmul().get(u).vmul().get(k.a).vmul().get(u).vadd().get(k.twoC).vmul().set(z);
  f.vexp(z, e, [s0, s1, s2, s3], k.e);
  f.get(k.e.one).get(k.two).get(e).get(k.e.one).vadd().vdiv().vsub().set(t);
}

/**
 * GELU (tanh form, as torch's approximate='tanh') forward or backward over n
 * floats (n a runtime argument; a tail of n % 4 goes through lane 0 of the
 * same vector code, so every element gets the same arithmetic).
 * forward (u, y, n[, tOut]): y = 0.5 u (1 + t), t = tanh(c (u + a u^3)),
 * stored to tOut when `saveT` (training keeps it for the backward pass);
 * backward (u, dy, du, n[, t]):
 * du = dy * (0.5 (1 + t) + 0.5 u (1 - t^2) c (1 + 3 a u^2)), with t read
 * from the forward's tOut when `saveT` (the same bits as recomputing it, for
 * about half the work) instead of recomputed.
 */
export function geluKernel(backward: boolean, saveT = false): Fn {
  const f = backward ? new Fn('k', [I32, I32, I32, I32, I32]) : new Fn('k', [I32, I32, I32, I32]);
  const U = 0;
  const OUT = backward ? 2 : 1;
  const DY = 1;
  const N = backward ? 3 : 2;
  const TS = backward ? 4 : 3;
  const u = f.local(V128);
  const t = f.local(V128);
  const r = f.local(V128);
  const tmp = [0, 1, 2, 3, 4, 5].map(() => f.local(V128));
  const n4 = f.local(I32);
  const k = geluConsts(f);
  const one = k.e.one;
  const body = (load: (p: number) => void) => {
    load(U);
    f.set(u);
    if (backward && saveT) {
      load(TS);
      f.set(t);
    } else {
      emitGeluTanh(f, u, t, tmp, k);
    }
    if (!backward) {
      f.get(k.half).get(u).vmul().get(one).get(t).vadd().vmul().set(r);
    } else {
      // 0.5 (1 + t) + 0.5 u (1 - t^2) c (1 + 3 a u^2)
      f.get(k.half).get(one).get(t).vadd().vmul();
      f.get(k.half).get(u).vmul().get(one).get(t).get(t).vmul().vsub().vmul().get(k.c).vmul();
      f.get(one).get(k.threeA).get(u).vmul().get(u).vmul().vadd().vmul();
      f.vadd();
      load(DY);
      f.vmul().set(r);
    }
  };
  const storeT = !backward && saveT;
  f.get(N).i32(4).divU().set(n4);
  f.repeat({ local: n4 }, () => {
    body((p) => f.get(p).vload());
    f.get(OUT).get(r).vstore();
    if (storeT) f.get(TS).get(t).vstore();
    f.inc(U, 16).inc(OUT, 16);
    if (backward) f.inc(DY, 16);
    if (saveT) f.inc(TS, 16);
  });
  f.get(N).i32(4).remU().set(n4);
  f.repeat({ local: n4 }, () => {
    body((p) => f.get(p).vsplatload());
    f.get(OUT).get(r).lane(0).f32store();
    if (storeT) f.get(TS).get(t).lane(0).f32store();
    f.inc(U, 4).inc(OUT, 4);
    if (backward) f.inc(DY, 4);
    if (saveT) f.inc(TS, 4);
  });
  return f;
}

/**
 * Causal softmax over rows of L scores, with left padding. Row i of (b, h) is
 * the query at position qi = q0 + i; it sees keys [lo, qi] with lo = off[b]
 * (the row's left padding), or just [qi, qi] when qi < off[b] (a padding
 * query: finite, never used). Entries outside the range are exactly 0. The max
 * and the sum run over the valid range only, sum in order from lo, so a row's
 * probabilities do not depend on its padding. exported signature:
 * (s, p, offs, nb, q0) with rows per batch = H * TQ.
 */
export function softmaxKernel(H: number, TQ: number, L: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32]);
  const [S, P, OFFS, NB, Q0] = [0, 1, 2, 3, 4];
  const off = f.local(I32);
  const qi = f.local(I32);
  const lo = f.local(I32);
  const j = f.local(I32);
  const ps = f.local(I32);
  const pp = f.local(I32);
  const m = f.local(F32);
  const sum = f.local(F32);
  const vmx = f.local(V128);
  const x = f.local(V128);
  const e = f.local(V128);
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)] as [number, number, number, number];
  const ek = f.expConsts();
  f.repeat({ local: NB }, () => {
    f.get(OFFS).i32load().set(off);
    f.repeat(H, () => {
      f.for(TQ, (i) => {
        f.get(Q0).get(i).add().set(qi);
        f.get(qi).get(off).get(qi).get(off).ltS().select().set(lo); // lo = qi < off ? qi : off
        // zero the row
        f.for(L, (jj) => {
          f.get(P).get(jj).i32(4).mul().add().f32(0).f32store();
        });
        // max over [lo, qi]
        f.get(S).get(lo).i32(4).mul().add().f32load().set(m);
        f.get(lo).set(j);
        f.block().loop();
        f.get(j).get(qi).geS().brIf(1);
        f.inc(j, 1);
        f.get(m).get(S).get(j).i32(4).mul().add().f32load().fmax().set(m);
        f.br(0).end().end();
        f.get(m).vsplat().set(vmx);
        // e = exp(s - m) into P over [lo, qi]: 4 at a time, the tail through lane 0
        f.get(lo).set(j);
        f.block().loop();
        f.get(qi).get(j).i32(3).add().ltS().brIf(1); // need j + 3 <= qi
        f.get(S).get(j).i32(4).mul().add().set(ps);
        f.get(P).get(j).i32(4).mul().add().set(pp);
        f.get(ps).vload().get(vmx).vsub().set(x);
        f.vexp(x, e, t, ek);
        f.get(pp).get(e).vstore();
        f.inc(j, 4).br(0).end().end();
        f.block().loop();
        f.get(qi).get(j).ltS().brIf(1); // while j <= qi
        f.get(S).get(j).i32(4).mul().add().vsplatload().get(vmx).vsub().set(x);
        f.vexp(x, e, t, ek);
        f.get(P).get(j).i32(4).mul().add().get(e).lane(0).f32store();
        f.inc(j, 1).br(0).end().end();
        // sum in order, then scale by 1/sum
        f.f32(0).set(sum);
        f.get(lo).set(j);
        f.block().loop();
        f.get(qi).get(j).ltS().brIf(1);
        f.get(sum).get(P).get(j).i32(4).mul().add().f32load().fadd().set(sum);
        f.inc(j, 1).br(0).end().end();
        f.f32(1).get(sum).fdiv().set(m);
        f.get(lo).set(j);
        f.block().loop();
        f.get(qi).get(j).ltS().brIf(1);
        f.get(P).get(j).i32(4).mul().add().set(pp);
        f.get(pp).get(pp).f32load().get(m).fmul().f32store();
        f.inc(j, 1).br(0).end().end();
        f.inc(S, L * 4).inc(P, L * 4);
      });
    });
    f.inc(OFFS, 4);
  });
  return f;
}

/**
 * Softmax backward over rows of L: dS = alpha * P * (dP - sum(P * dP)).
 * exported signature: (p, dp, ds, rows)
 */
export function softmaxBackKernel(L: number, alpha: number): Fn {
  const f = new Fn('k', [I32, I32, I32, I32]);
  const [P, DP, DS, ROWS] = [0, 1, 2, 3];
  const acc = f.local(V128);
  const dot = f.local(F32);
  const vd = f.local(V128);
  const nv = L >> 2;
  const ns = L & 3;
  f.repeat({ local: ROWS }, () => {
    f.vzero().set(acc);
    for (let c = 0; c < nv; c++) f.get(acc).get(P).vload(c * 16).get(DP).vload(c * 16).vmul().vadd().set(acc);
    f.hsum(acc);
    for (let c = 0; c < ns; c++) f.get(P).f32load((nv * 4 + c) * 4).get(DP).f32load((nv * 4 + c) * 4).fmul().fadd();
    f.set(dot);
    f.get(dot).vsplat().set(vd);
    for (let c = 0; c < nv; c++) {
      const o = c * 16;
      f.get(DS).get(P).vload(o).get(DP).vload(o).get(vd).vsub().vmul().vconst(alpha).vmul().vstore(o);
    }
    for (let c = 0; c < ns; c++) {
      const o = (nv * 4 + c) * 4;
      f.get(DS).get(P).f32load(o).get(DP).f32load(o).get(dot).fsub().fmul().f32(alpha).fmul().f32store(o);
    }
    f.inc(P, L * 4).inc(DP, L * 4).inc(DS, L * 4);
  });
  return f;
}
