// Kernel generators, GEMM and copy: a batched GEMM with arbitrary operand
// strides (so transposes are free) and epilogues (bias, residual, accumulate),
// and a strided 4-d copy.
//
// In every kernels-*.ts file, sizes that shape the loops are compile-time
// constants (a kernel is compiled per shape and cached, runtime.ts); row and
// batch counts are runtime arguments so one kernel serves every batch size.
import { F32, I32, V128 } from './encoding.ts';
import { Fn } from './fn.ts';

/**
 * C = alpha * (A B) or A B + bias, then (+ R) (+ C if accumulate), batched;
 * A is M x K, B is K x N. M, K and the outer batch count are runtime arguments.
 * A[i, k] at a + i*sai + k*sak (any strides: A^T is free); B[k, j] at b + k*sbk + j
 * (rows contiguous); C[i, j] at c + i*sci + j; R like C. Two batch levels:
 * the outer count is a runtime argument, the inner one (nb2) a constant.
 * Strides are in elements. Register tile MR x NR (4 x 8: 8 f32x4 accumulators),
 * j-tiles outer so a B panel stays in L1; k summed in order (no FMA in SIMD128),
 * so every C element is the same sequential sum whatever M or the tile.
 */
export interface GemmSpec {
  N: number;
  sai: number;
  sak: number;
  sbk: number;
  sci: number;
  nb2?: number;
  sa1?: number;
  sb1?: number;
  sc1?: number;
  sa2?: number;
  sb2?: number;
  sc2?: number;
  alpha?: number;
  bias?: boolean;
  residual?: boolean;
  accumulate?: boolean;
  MR?: number;
  NR?: number;
  /** rows per cache block (a multiple of MR; 0 = the whole M) */
  MC?: number;
  /** k per cache block (0 = the whole K); bias is the only epilogue allowed with it */
  KC?: number;
  /**
   * Multiply-add with relaxed SIMD's f32x4.relaxed_madd (FMA on x86 with FMA3):
   * NOT bit-identical to the default mul-then-add (one rounding instead of
   * two, and the spec lets each engine choose), so no model path uses it;
   * bench/gemm.ts measures it. Needs V8's --experimental-wasm-relaxed-simd on
   * Node 20 (relaxedSimdSupported()).
   */
  fma?: boolean;
  /**
   * Copy B into contiguous NR-wide panels, one k block at a time (in the
   * scratch argument: KC * N floats, K * N without KC) before multiplying:
   * B rows far apart alias in L1 and thrash. Not with an inner batch (nb2).
   */
  packB?: boolean;
}

/** exported signature: (a, b, c, bias, res, m, nb, k, scratch) */
export function gemmKernel(s: GemmSpec): Fn {
  const MR = s.MR ?? 4;
  const NR = s.NR ?? 8;
  const MC = s.MC ?? 0; // row block (0 = none)
  const KC = s.KC ?? 0; // k block (0 = none)
  if (NR % 4 !== 0) throw new Error('NR must be a multiple of 4');
  if (MC && MC % MR !== 0) throw new Error('MC must be a multiple of MR');
  const alpha = s.alpha ?? 1;
  if (alpha !== 1 && s.bias) throw new Error('gemm: alpha with bias is not supported');
  if (KC && (s.accumulate || s.residual || alpha !== 1)) throw new Error('gemm: KC blocking supports bias only');
  const pack = s.packB === true;
  if (pack && (s.nb2 ?? 1) !== 1) throw new Error('gemm: packB with an inner batch is not supported');
  const f = new Fn('k', [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [A, B, C, BIAS, RES, M, NB, KK, SCR] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const panel = f.local(I32);
  const ps = f.local(I32);
  const pd = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const ia = f.local(I32);
  const ic = f.local(I32);
  const ir = f.local(I32);
  const jb = f.local(I32);
  const jc = f.local(I32);
  const jr = f.local(I32);
  const jbias = f.local(I32);
  // batch bases
  const ba = f.local(I32);
  const bb = f.local(I32);
  const bc = f.local(I32);
  const br = f.local(I32);
  const b2a = f.local(I32);
  const b2b = f.local(I32);
  const b2c = f.local(I32);
  const b2r = f.local(I32);
  // k block: bases, count, first flag
  const ka = f.local(I32);
  const kb = f.local(I32);
  const kc = f.local(I32);
  const kLeft = f.local(I32);
  const first = f.local(I32);
  // row block: bases and rows
  const ma = f.local(I32);
  const mcPtr = f.local(I32);
  const mr = f.local(I32);
  const mLeft = f.local(I32);
  const mRows = f.local(I32);
  const mTiles = f.local(I32);
  const mRem = f.local(I32);
  const maxV = NR / 4;
  const acc = Array.from({ length: MR }, () => Array.from({ length: maxV }, () => f.local(V128)));
  const accS = Array.from({ length: MR }, () => Array.from({ length: 3 }, () => f.local(F32)));
  const bv = Array.from({ length: maxV }, () => f.local(V128));
  const bs = Array.from({ length: 3 }, () => f.local(F32));
  const av = f.local(V128);
  const as = f.local(F32);
  const sri = s.sci;

  // cont: a later k block, continuing the partial sums stored in C
  const tile = (rows: number, nc: number, cont: boolean) => {
    const nv = nc >> 2;
    const ns = nc & 3;
    const init = () => {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < nv; c++) {
          if (s.bias) f.get(jbias).vload(c * 16).set(acc[r][c]);
          else f.vzero().set(acc[r][c]);
        }
        for (let c = 0; c < ns; c++) {
          if (s.bias) f.get(jbias).f32load((nv * 4 + c) * 4).set(accS[r][c]);
          else f.f32(0).set(accS[r][c]);
        }
      }
    };
    if (cont) {
      // the same sequence of adds as one unblocked k loop (C holds the partial sums exactly)
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < nv; c++) f.get(ic).vload((r * s.sci + c * 4) * 4).set(acc[r][c]);
        for (let c = 0; c < ns; c++) f.get(ic).f32load((r * s.sci + nv * 4 + c) * 4).set(accS[r][c]);
      }
    } else {
      init();
    }
    f.get(ia).set(pa).get(jb).set(pb);
    const sbB = (pack ? nc : s.sbk) * 4;
    // one k step at immediate offsets (u steps ahead of pa, pb)
    const step = (u: number) => {
      for (let c = 0; c < nv; c++) f.get(pb).vload(u * sbB + c * 16).set(bv[c]);
      for (let c = 0; c < ns; c++) f.get(pb).f32load(u * sbB + (nv * 4 + c) * 4).set(bs[c]);
      for (let r = 0; r < rows; r++) {
        const off = r * s.sai * 4 + u * s.sak * 4;
        if (nv > 0) {
          f.get(pa).vsplatload(off).set(av);
          if (s.fma) for (let c = 0; c < nv; c++) f.get(av).get(bv[c]).get(acc[r][c]).vmadd().set(acc[r][c]);
          else for (let c = 0; c < nv; c++) f.get(acc[r][c]).get(av).get(bv[c]).vmul().vadd().set(acc[r][c]);
        }
        if (ns > 0) {
          f.get(pa).f32load(off).set(as);
          for (let c = 0; c < ns; c++) f.get(accS[r][c]).get(as).get(bs[c]).fmul().fadd().set(accS[r][c]);
        }
      }
    };
    // k in order (unrolling this loop halved the speed: V8 then spills)
    f.repeat({ local: kc }, () => {
      step(0);
      f.inc(pa, s.sak * 4).inc(pb, sbB);
    });
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < nv; c++) {
        const off = (r * s.sci + c * 4) * 4;
        f.get(ic).get(acc[r][c]);
        if (alpha !== 1) f.vconst(alpha).vmul();
        if (s.residual) f.get(ir).vload((r * sri + c * 4) * 4).vadd();
        if (s.accumulate) f.get(ic).vload(off).vadd();
        f.vstore(off);
      }
      for (let c = 0; c < ns; c++) {
        const off = (r * s.sci + nv * 4 + c) * 4;
        f.get(ic).get(accS[r][c]);
        if (alpha !== 1) f.f32(alpha).fmul();
        if (s.residual) f.get(ir).f32load((r * sri + nv * 4 + c) * 4).fadd();
        if (s.accumulate) f.get(ic).f32load(off).fadd();
        f.f32store(off);
      }
    }
  };
  // all row tiles of one column tile within the current row block
  const rows = (nc: number, cont: boolean) => {
    f.get(ma).set(ia).get(jc).set(ic).get(jr).set(ir);
    f.repeat({ local: mTiles }, () => {
      tile(MR, nc, cont);
      f.inc(ia, MR * s.sai * 4).inc(ic, MR * s.sci * 4).inc(ir, MR * sri * 4);
    });
    for (let r = 1; r < MR; r++) {
      f.get(mRem).i32(r).eq().if();
      tile(r, nc, cont);
      f.end();
    }
  };
  const nJ = Math.floor(s.N / NR);
  const nRem = s.N % NR;
  // one row block [ma.., mRows rows] x all columns, k range [ka.., kc]
  const rowBlock = (cont: boolean) => {
    f.get(mRows).i32(MR).divU().set(mTiles);
    f.get(mRows).i32(MR).remU().set(mRem);
    f.get(mcPtr).set(jc).get(mr).set(jr).get(BIAS).set(jbias);
    if (pack) f.get(SCR).set(jb);
    else f.get(kb).set(jb);
    f.repeat(nJ, () => {
      rows(NR, cont);
      if (pack) f.incBy(jb, panel);
      else f.inc(jb, NR * 4);
      f.inc(jc, NR * 4).inc(jr, NR * 4).inc(jbias, NR * 4);
    });
    if (nRem > 0) {
      // the partial panel: after the nJ full ones, nRem wide
      if (pack) f.get(SCR).get(panel).i32(nJ).mul().add().set(jb);
      rows(nRem, cont);
    }
  };
  /**
   * This k block of B (kc rows at kb) into panels: [jt][kc][NR], then the
   * partial panel [kc][nRem]. Eight rows at a time, every panel's slice of
   * them: reading one panel down all K rows (rows 1.5-2 KB apart) thrashed
   * the caches and cost more than the multiply for N = 512.
   */
  const packB = () => {
    f.get(kc).i32(NR * 4).mul().set(panel);
    f.get(kb).set(ps);
    f.i32(0).set(pd); // rows packed so far in this block
    const copyRows = (rowsPer: number) => {
      const panels = (count: number, width: number, firstCol: number) => {
        if (count === 0 || width === 0) return;
        f.for(count, (jt) => {
          // dst = SCR + (firstCol ? nJ * panel : jt * panel) + pd * width * 4
          f.get(SCR).get(panel).get(jt).i32(firstCol > 0 ? nJ : 0).add().mul().add().get(pd).i32(width * 4).mul().add().set(ia);
          f.get(ps).get(jt).i32(NR * 4).mul().add().i32(firstCol * 4).add().set(ic);
          for (let r = 0; r < rowsPer; r++) {
            for (let c = 0; c < width >> 2; c++) f.get(ia).get(ic).vload(r * s.sbk * 4 + c * 16).vstore((r * width + c * 4) * 4);
            for (let c = 0; c < (width & 3); c++) {
              const o = (width & ~3) + c;
              f.get(ia).get(ic).f32load((r * s.sbk + o) * 4).f32store((r * width + o) * 4);
            }
          }
        });
      };
      panels(nJ, NR, 0);
      panels(nRem > 0 ? 1 : 0, nRem, nJ * NR);
      f.inc(ps, rowsPer * s.sbk * 4).inc(pd, rowsPer);
    };
    f.get(kc).i32(8).divU().set(mTiles);
    f.repeat({ local: mTiles }, () => copyRows(8));
    f.get(kc).i32(8).remU().set(mTiles);
    f.repeat({ local: mTiles }, () => copyRows(1));
  };
  f.get(A).set(ba).get(B).set(bb).get(C).set(bc).get(RES).set(br);
  f.repeat({ local: NB }, () => {
    f.get(ba).set(b2a).get(bb).set(b2b).get(bc).set(b2c).get(br).set(b2r);
    f.repeat(s.nb2 ?? 1, () => {
      // k blocks
      f.get(b2a).set(ka).get(b2b).set(kb).get(KK).set(kLeft).i32(1).set(first);
      f.block().loop();
      {
        if (KC) f.i32(KC).get(kLeft).get(kLeft).i32(KC).geS().select().set(kc);
        else f.get(kLeft).set(kc);
        if (pack) packB();
        // row blocks: the first k block starts the sums, later ones continue them
        // (two copies of the loop nest: a branch inside the tile costs V8 registers)
        const rowBlocks = (cont: boolean) => {
          f.get(ka).set(ma).get(b2c).set(mcPtr).get(b2r).set(mr).get(M).set(mLeft);
          f.block().loop();
          {
            f.get(mLeft).i32(0).leS().brIf(1);
            if (MC) f.i32(MC).get(mLeft).get(mLeft).i32(MC).geS().select().set(mRows);
            else f.get(mLeft).set(mRows);
            rowBlock(cont);
            f.get(mLeft).get(mRows).sub().set(mLeft);
            f.get(ma).get(mRows).i32(s.sai * 4).mul().add().set(ma);
            f.get(mcPtr).get(mRows).i32(s.sci * 4).mul().add().set(mcPtr);
            f.get(mr).get(mRows).i32(sri * 4).mul().add().set(mr);
            f.br(0);
          }
          f.end().end();
        };
        if (KC) {
          f.get(first).if();
          rowBlocks(false);
          f.else();
          rowBlocks(true);
          f.end();
        } else {
          rowBlocks(false);
        }
        f.i32(0).set(first);
        f.get(kLeft).get(kc).sub().tee(kLeft).i32(0).leS().brIf(1);
        f.get(ka).get(kc).i32(s.sak * 4).mul().add().set(ka);
        f.get(kb).get(kc).i32(s.sbk * 4).mul().add().set(kb);
        f.br(0);
      }
      f.end().end();
      f.inc(b2a, (s.sa2 ?? 0) * 4).inc(b2b, (s.sb2 ?? 0) * 4).inc(b2c, (s.sc2 ?? 0) * 4).inc(b2r, (s.sc2 ?? 0) * 4);
    });
    f.inc(ba, (s.sa1 ?? 0) * 4).inc(bb, (s.sb1 ?? 0) * 4).inc(bc, (s.sc1 ?? 0) * 4).inc(br, (s.sc1 ?? 0) * 4);
  });
  return f;
}

/**
 * Strided 4-d copy of 32-bit words: dst[i0][i1][i2][i3] = src[...], each side
 * with its own strides (elements). n0 is a runtime argument. Used for
 * transposes (K^T, V^T, W^T) and KV-cache writes.
 * exported signature: (src, dst, n0)
 */
export interface CopySpec {
  n: [number, number, number]; // n1, n2, n3
  s: [number, number, number, number];
  d: [number, number, number, number];
}
export function copyKernel(sp: CopySpec): Fn {
  const f = new Fn('k', [I32, I32, I32]);
  const [SRC, DST, N0] = [0, 1, 2];
  const p = [0, 1, 2, 3].map(() => [f.local(I32), f.local(I32)]);
  f.get(SRC).set(p[0][0]).get(DST).set(p[0][1]);
  const level = (lv: number) => {
    if (lv === 4) {
      f.get(p[3][1]).get(p[3][0]).i32load().i32store();
      return;
    }
    const cnt = lv === 0 ? { local: N0 } : sp.n[lv - 1];
    f.repeat(cnt, () => {
      if (lv < 3) f.get(p[lv][0]).set(p[lv + 1][0]).get(p[lv][1]).set(p[lv + 1][1]);
      level(lv + 1);
      f.inc(p[lv][0], sp.s[lv] * 4).inc(p[lv][1], sp.d[lv] * 4);
    });
  };
  level(0);
  return f;
}
