// The function-body writer of the WebAssembly writer: Fn emits one exported
// function's instruction stream (scalar, SIMD128, memory and control-flow
// instructions, loop helpers, exp() constants). writer.ts wraps Fns into a module.
import { I32, V128, sleb, uleb } from './encoding.ts';

/**
 * One exported function, written as a stack-machine instruction stream with
 * chainable emitters named after the wasm instructions. Loop helpers keep the
 * kernels readable. Offsets in loads/stores are byte offsets.
 */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];
  constructor(
    readonly name: string,
    readonly params: number[],
    readonly results: number[] = [],
  ) {}

  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }
  get locals(): readonly number[] {
    return this.localTypes;
  }
  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  private simd(op: number): this {
    this.code.push(0xfd);
    uleb(op, this.code);
    return this;
  }
  private memarg(align: number, offset: number): this {
    if (offset < 0 || !Number.isInteger(offset)) throw new Error(`bad memory offset ${offset}`);
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }
  // locals and constants
  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }
  i32(n: number): this {
    this.code.push(0x41);
    sleb(n, this.code);
    return this;
  }
  f32(x: number): this {
    this.code.push(0x43);
    for (const b of new Uint8Array(new Float32Array([x]).buffer)) this.code.push(b);
    return this;
  }
  call(fnIndex: number): this {
    this.code.push(0x10);
    uleb(fnIndex, this.code);
    return this;
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }
  // memory (offset in bytes)
  i32load(off = 0): this {
    return this.op(0x28).memarg(2, off);
  }
  i32store(off = 0): this {
    return this.op(0x36).memarg(2, off);
  }
  f32load(off = 0): this {
    return this.op(0x2a).memarg(2, off);
  }
  f32store(off = 0): this {
    return this.op(0x38).memarg(2, off);
  }
  vload(off = 0): this {
    return this.simd(0x00).memarg(2, off);
  }
  vstore(off = 0): this {
    return this.simd(0x0b).memarg(2, off);
  }
  /** v128.load32_splat */
  vsplatload(off = 0): this {
    return this.simd(0x09).memarg(2, off);
  }
  // i32 arithmetic
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  divU(): this {
    return this.op(0x6e);
  }
  remU(): this {
    return this.op(0x70);
  }
  shl(): this {
    return this.op(0x74);
  }
  eqz(): this {
    return this.op(0x45);
  }
  eq(): this {
    return this.op(0x46);
  }
  ne(): this {
    return this.op(0x47);
  }
  ltS(): this {
    return this.op(0x48);
  }
  leS(): this {
    return this.op(0x4c);
  }
  geS(): this {
    return this.op(0x4e);
  }
  // f32 scalar
  fadd(): this {
    return this.op(0x92);
  }
  fsub(): this {
    return this.op(0x93);
  }
  fmul(): this {
    return this.op(0x94);
  }
  fdiv(): this {
    return this.op(0x95);
  }
  fmax(): this {
    return this.op(0x97);
  }
  fsqrt(): this {
    return this.op(0x91);
  }
  flt(): this {
    return this.op(0x5d);
  }
  fgt(): this {
    return this.op(0x5e);
  }
  f32ToF64(): this {
    return this.op(0xbb);
  }
  f64ToF32(): this {
    return this.op(0xb6);
  }
  i32ToF32(): this {
    return this.op(0xb2);
  }
  // f32x4 SIMD
  vzero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  vsplat(): this {
    return this.simd(0x13);
  }
  vconst(x: number): this {
    return this.f32(x).vsplat();
  }
  lane(i: number): this {
    this.simd(0x1f);
    this.code.push(i);
    return this;
  }
  vadd(): this {
    return this.simd(0xe4);
  }
  vsub(): this {
    return this.simd(0xe5);
  }
  vmul(): this {
    return this.simd(0xe6);
  }
  vdiv(): this {
    return this.simd(0xe7);
  }
  vsqrt(): this {
    return this.simd(0xe3);
  }
  /** relaxed SIMD f32x4.relaxed_madd (a b c -> a*b + c): one rounding where the hardware fuses, two where not */
  vmadd(): this {
    return this.simd(0x105);
  }
  vmin(): this {
    return this.simd(0xe8);
  }
  vmax(): this {
    return this.simd(0xe9);
  }
  /** f32x4.pmin: b < a ? b : a (one instruction; no NaN/-0 fix-ups) */
  vpmin(): this {
    return this.simd(0xea);
  }
  /** f32x4.pmax: a < b ? b : a */
  vpmax(): this {
    return this.simd(0xeb);
  }
  vfloor(): this {
    return this.simd(0x68);
  }
  /** i32x4.trunc_sat_f32x4_s */
  vtrunc(): this {
    return this.simd(0xf8);
  }
  /** i32x4.add */
  viadd(): this {
    return this.simd(0xae);
  }
  /** i32x4.shl by an i32 on the stack */
  vishl(): this {
    return this.simd(0xab);
  }
  /** i32x4.splat */
  visplat(): this {
    return this.simd(0x11);
  }
  // control
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  /** local += c (i32) */
  inc(i: number, c: number): this {
    if (c !== 0) this.get(i).i32(c).add().set(i);
    return this;
  }
  /** local += other local (i32) */
  incBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }
  /**
   * for (i = 0; i < n; i++) body(i). `n` is a constant or an i32 local; the
   * loop runs zero times when n <= 0.
   */
  for(n: number | { local: number }, body: (i: number) => void): this {
    const i = this.local(I32);
    if (typeof n === 'number') {
      if (n <= 0) return this;
      this.i32(0).set(i).loop();
      body(i);
      this.get(i).i32(1).add().tee(i).i32(n).ltS().brIf(0).end();
      return this;
    }
    this.i32(0).set(i).block().loop();
    this.get(i).get(n.local).geS().brIf(1);
    body(i);
    this.inc(i, 1).br(0).end().end();
    return this;
  }
  /** repeat body `n` times (n a constant or local), no index */
  repeat(n: number | { local: number }, body: () => void): this {
    return this.for(n, () => body());
  }
  /** horizontal sum of the v128 in local v, lanes in the fixed order ((0+1)+2)+3; leaves an f32 */
  hsum(v: number): this {
    this.get(v).lane(0).get(v).lane(1).fadd().get(v).lane(2).fadd().get(v).lane(3).fadd();
    return this;
  }
  hmax(v: number): this {
    this.get(v).lane(0).get(v).lane(1).fmax().get(v).lane(2).fmax().get(v).lane(3).fmax();
    return this;
  }
  /**
   * v128 exp of local `x` into local `out` (Cephes expf: range reduction by
   * ln 2, degree-6 polynomial, 2^n through the exponent bits). Inputs are
   * clamped to [-88.376, 88.376]; relative error about 2 ulp. `t` are four
   * scratch v128 locals; `k` the constants from expConsts() (set once,
   * outside loops, so V8 keeps them in registers instead of rebuilding them).
   */
  vexp(x: number, out: number, t: [number, number, number, number], k: ExpConsts): this {
    const [xx, fx, z, y] = t;
    this.get(x).get(k.lo).vpmax().get(k.hi).vpmin().set(xx);
    this.get(xx).get(k.log2e).vmul().get(k.half).vadd().vfloor().set(fx);
    this.get(xx).get(fx).get(k.c1).vmul().vsub();
    this.get(fx).get(k.c2).vmul().vsub().set(xx);
    this.get(xx).get(xx).vmul().set(z);
    this.get(k.p[0]).get(xx).vmul().get(k.p[1]).vadd();
    this.get(xx).vmul().get(k.p[2]).vadd();
    this.get(xx).vmul().get(k.p[3]).vadd();
    this.get(xx).vmul().get(k.p[4]).vadd();
    this.get(xx).vmul().get(k.p[5]).vadd();
    this.get(z).vmul().get(xx).vadd().get(k.one).vadd().set(y);
    // 2^n: (n + 127) << 23 reinterpreted as f32
    this.get(fx).vtrunc().get(k.bias127).viadd().i32(23).vishl();
    this.get(y).vmul().set(out);
    return this;
  }

  /** v128 locals holding exp's constants (emit once, before the loops) */
  expConsts(): ExpConsts {
    const c = (x: number) => {
      const l = this.local(V128);
      this.vconst(x).set(l);
      return l;
    };
    const bias127 = this.local(V128);
    this.i32(127).visplat().set(bias127);
    return {
      lo: c(-88.3762626647949),
      hi: c(88.3762626647949),
      log2e: c(1.44269504088896341),
      half: c(0.5),
      c1: c(0.693359375),
      c2: c(-2.12194440e-4),
      p: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(c),
      one: c(1),
      bias127,
    };
  }
}

export interface ExpConsts {
  lo: number;
  hi: number;
  log2e: number;
  half: number;
  c1: number;
  c2: number;
  p: number[];
  one: number;
  bias127: number;
}
