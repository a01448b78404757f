// Kernel generator for the optimizer: one AdamW update of a parameter tensor in
// a single pass (p, g, m, v in; p, m, v out), the arithmetic of optim.ts's
// tfjs-op update operation for operation, so the results are bit-identical.
import { F32, I32, V128 } from './encoding.ts';
import { Fn } from './fn.ts';

/** The f32 constants the update reads, in this order, from its consts pointer. */
export const ADAMW_CONSTS = ['gradScale', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'decay', 'bc2Sqrt', 'eps', 'stepSize'] as const;

/**
 * Per element, each step rounded to f32 as tfjs's ops round it:
 *   g' = g * gradScale
 *   m' = m * beta1 + g' * oneMinusBeta1
 *   v' = v * beta2 + (g' * g') * oneMinusBeta2
 *   p' = p * decay - (m' / (sqrt(v') / bc2Sqrt + eps)) * stepSize
 * (a gradScale or decay of 1 is exact: x * 1 = x.) Four lanes at a time, the
 * tail one by one. exported signature: (p, g, m, v, pOut, mOut, vOut, n, consts)
 */
export function adamwKernel(): Fn {
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [P, G, M, VV, PO, MO, VO, N, CST] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const kv = ADAMW_CONSTS.map(() => f.local(V128));
  const ks = ADAMW_CONSTS.map(() => f.local(F32));
  ADAMW_CONSTS.forEach((_, i) => {
    f.get(CST).vsplatload(i * 4).set(kv[i]);
    f.get(CST).f32load(i * 4).set(ks[i]);
  });
  const [GS, B1, OB1, B2, OB2, DEC, BC2, EPS, STEP] = ADAMW_CONSTS.map((_, i) => i);
  const gv = f.local(V128);
  const mv = f.local(V128);
  const vv = f.local(V128);
  const gs = f.local(F32);
  const ms = f.local(F32);
  const vs = f.local(F32);
  const cnt = f.local(I32);
  const advance = (bytes: number) => {
    for (const ptr of [P, G, M, VV, PO, MO, VO]) f.inc(ptr, bytes);
  };
  f.get(N).i32(4).divU().set(cnt);
  f.repeat({ local: cnt }, () => {
    f.get(G).vload().get(kv[GS]).vmul().set(gv);
    f.get(M).vload().get(kv[B1]).vmul().get(gv).get(kv[OB1]).vmul().vadd().set(mv);
    f.get(VV).vload().get(kv[B2]).vmul().get(gv).get(gv).vmul().get(kv[OB2]).vmul().vadd().set(vv);
    f.get(MO).get(mv).vstore();
    f.get(VO).get(vv).vstore();
    f.get(PO).get(P).vload().get(kv[DEC]).vmul();
    f.get(mv).get(vv).vsqrt().get(kv[BC2]).vdiv().get(kv[EPS]).vadd().vdiv().get(kv[STEP]).vmul();
    f.vsub().vstore();
    advance(16);
  });
  f.get(N).i32(4).remU().set(cnt);
  f.repeat({ local: cnt }, () => {
    f.get(G).f32load().get(ks[GS]).fmul().set(gs);
    f.get(M).f32load().get(ks[B1]).fmul().get(gs).get(ks[OB1]).fmul().fadd().set(ms);
    f.get(VV).f32load().get(ks[B2]).fmul().get(gs).get(gs).fmul().get(ks[OB2]).fmul().fadd().set(vs);
    f.get(MO).get(ms).f32store();
    f.get(VO).get(vs).f32store();
    f.get(PO).get(P).f32load().get(ks[DEC]).fmul();
    f.get(ms).get(vs).fsqrt().get(ks[BC2]).fdiv().get(ks[EPS]).fadd().fdiv().get(ks[STEP]).fmul();
    f.fsub().f32store();
    advance(4);
  });
  return f;
}
