// The tensor backend of the GRPO core, and the hand-written WebAssembly SIMD
// kernels that make the tfjs `wasm` backend fast for small transformers.
//
// Backends: `auto | wasm | cpu | tensorflow`. `auto` is `tensorflow` when
// @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node can be imported (both
// optional; their installer downloads libtensorflow), else `wasm`.
//
// Why kernels of our own: tfjs-wasm runs a rank-2 matMul through XNNPACK (about
// 39 GFLOP/s here) but repacks its right operand on every call at ~18 ns per
// element, so a weight gradient X^T dY (right operand 3072 x 512) spends 3x
// longer packing than multiplying; a transposed or rank-3 matMul falls to a
// scalar loop (10-40x slower); Transpose, Exp and Tanh are scalar and slow.
// The kernels below are generated at run time as WebAssembly (SIMD128), share
// tfjs-wasm's linear memory (so they read and write tfjs tensors in place), and
// are specialised per shape: a GEMM with arbitrary operand strides reaches
// 45-50 GFLOP/s with no packing at all. See docs/performance.md.
//
// Every kernel is row-independent and sums in a fixed order, so a row's result
// does not depend on which other rows share the batch; the model relies on that
// to make KV-cache sampling bit-identical to full-sequence scoring.
//
// @tensorflow/tfjs-backend-wasm is imported only when the wasm backend is
// asked for: importing it registers wasm above cpu, which would change the
// default backend of every tfjs user in the process.
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

export interface BackendInfo {
  /** the tfjs backend actually in use */
  backend: 'wasm' | 'cpu' | 'tensorflow';
  /** WebAssembly SIMD available (wasm backend only; false elsewhere) */
  simd: boolean;
  /**
   * threads the backend really uses: 1 for cpu and for wasm in Node (its
   * threaded build needs Web Workers); null for tensorflow, whose own thread
   * pools rlgrid neither sets nor can read
   */
  threads: number | null;
  tfjsVersion: string;
  /** rlgrid's SIMD kernels are active (wasm + SIMD) */
  fastKernels: boolean;
  /** which optional tfjs-node package provided `tensorflow`, if any */
  nodePackage?: string;
}

const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Why each optional tfjs-node package was not used by the last initBackend (auto, tensorflow). */
let skipped: { package: string; reason: string }[] = [];

/** "not installed" for the usual case; anything else (a CUDA or ABI mismatch) is said as it is. */
function importFailure(e: unknown, name: string): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(name)) return 'not installed';
  return `failed to load: ${msg.split('\n')[0]}`;
}

async function tryImportNode(): Promise<string | null> {
  skipped = [];
  for (const name of NODE_PACKAGES) {
    try {
      await import(name);
      return name;
    } catch (e) {
      skipped.push({ package: name, reason: importFailure(e, name) });
    }
  }
  return null;
}

/** SIMD128 support, by validating a tiny module that uses an i8x16.splat. */
/** Whether this V8 compiles relaxed SIMD (Node 20: only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  // (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b];
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

export function wasmSimdSupported(): boolean {
  try {
    return WebAssembly.validate(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
    );
  } catch {
    return false;
  }
}

let current: BackendInfo | null = null;

/**
 * Select and initialise a tfjs backend (and tf.enableProdMode()). `threads`
 * is what the config asks for; the info reports what is true (see
 * BackendInfo.threads).
 */
export async function initBackend(name: BackendName, threads = 1): Promise<BackendInfo> {
  tf.enableProdMode();
  let nodePackage: string | null = null;
  let want: 'wasm' | 'cpu' | 'tensorflow';
  if (name === 'auto' || name === 'tensorflow') {
    nodePackage = await tryImportNode();
    if (nodePackage) want = 'tensorflow';
    else if (name === 'tensorflow')
      // never a silent fallback: the config asked for this backend
      throw new Error(
        `runtime.backend 'tensorflow' cannot load: ${skipped.map((s) => `${s.package} ${s.reason}`).join('; ')}. ` +
          `Install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) beside rlgrid, or set runtime.backend: wasm`,
      );
    else want = 'wasm';
  } else {
    want = name;
    skipped = [];
  }
  if (want === 'wasm') {
    // The wasm backend reads this before it initialises (Node cannot run the
    // threaded build: it reports 1 whatever is asked).
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!tf.findBackend('wasm')) wasm.setThreadsCount(Math.max(1, threads | 0));
  }
  const ok = await tf.setBackend(want);
  if (!ok || tf.getBackend() !== want) throw new Error(`could not initialise tfjs backend '${want}'`);
  await tf.ready();
  let simd = false;
  let realThreads: number | null = 1;
  if (want === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    realThreads = wasm.getThreadsCount();
  } else if (want === 'tensorflow') {
    realThreads = null;
  }
  const fast = want === 'wasm' && simd && wasmSimdSupported() && kernels() !== null;
  current = {
    backend: want,
    simd,
    threads: realThreads,
    tfjsVersion: tf.version.tfjs,
    fastKernels: fast,
    ...(nodePackage ? { nodePackage } : {}),
  };
  return current;
}

/** The backend chosen by the last initBackend (null before). */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** The line every job logs first: the backend in use, and why `auto` skipped the native ones. */
export function describeBackend(info: BackendInfo): string {
  const what =
    info.backend === 'tensorflow'
      ? `tensorflow (${info.nodePackage ?? 'tfjs-node'})`
      : `${info.backend}${info.backend === 'wasm' ? (info.fastKernels ? ' with rlgrid SIMD kernels' : info.simd ? ' (SIMD, no rlgrid kernels)' : ' (no SIMD)') : ''}`;
  const threads = info.threads === null ? '' : `, ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const skip = skipped.length ? `; skipped ${skipped.map((s) => `${s.package} (${s.reason})`).join(', ')}` : '';
  return `backend: ${what}${threads}, tfjs ${info.tfjsVersion}${skip}`;
}

// ============================================================================
// A minimal WebAssembly binary writer: just what the kernels below need.
// ============================================================================

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

function uleb(n: number, out: number[]): void {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  for (const x of b) out.push(x);
}

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

/** Module bytes: imports env.memory (the tfjs heap) and env.log (Math.log). */
export function buildModule(fns: Fn[]): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]) => {
    out.push(id);
    uleb(body.length, out);
    for (const b of body) out.push(b);
  };
  const types: number[] = [];
  uleb(fns.length + 1, types);
  types.push(0x60, 1, F64, 1, F64); // type 0: log
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  section(1, types);
  const imports: number[] = [];
  uleb(2, imports);
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, 0x00);
  uleb(1, imports);
  name('env', imports);
  name('log', imports);
  imports.push(0x00, 0x00); // func of type 0 (function index 0)
  section(2, imports);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => uleb(i + 1, funcs));
  section(3, funcs);
  const exps: number[] = [];
  uleb(fns.length, exps);
  fns.forEach((f, i) => {
    name(f.name, exps);
    exps.push(0x00);
    uleb(i + 1, exps); // function 0 is the imported log
  });
  section(7, exps);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) {
    const body: number[] = [];
    const groups: [number, number][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(t);
    }
    for (const b of f.code) body.push(b);
    body.push(0x0b);
    uleb(body.length, code);
    for (const b of body) code.push(b);
  }
  section(10, code);
  return new Uint8Array(out);
}

/** Index of the imported Math.log inside generated modules. */
const LOG_FN = 0;

// ============================================================================
// Kernel generators. Sizes that shape the loops are compile-time constants (a
// kernel is compiled per shape and cached); row and batch counts are runtime
// arguments so one kernel serves every batch size.
// ============================================================================

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
   * Copy B into contiguous K x NR panels (in the scratch argument, K * N
   * floats) before multiplying: B rows far apart alias in L1 and thrash. Not
   * with an inner batch (nb2).
   */
  packB?: boolean;
}

/** exported signature: (a, b, c, bias, res, m, nb, k, scratch) */
function gemmKernel(s: GemmSpec): Fn {
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
  const kDone = f.local(I32);
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

  const tile = (rows: number, nc: number) => {
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
    if (KC) {
      // later k blocks continue the partial sums stored in C: the same sequence of adds
      f.get(first).if();
      init();
      f.else();
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < nv; c++) f.get(ic).vload((r * s.sci + c * 4) * 4).set(acc[r][c]);
        for (let c = 0; c < ns; c++) f.get(ic).f32load((r * s.sci + nv * 4 + c) * 4).set(accS[r][c]);
      }
      f.end();
    } else {
      init();
    }
    f.get(ia).set(pa).get(jb).set(pb);
    f.repeat({ local: kc }, () => {
      for (let c = 0; c < nv; c++) f.get(pb).vload(c * 16).set(bv[c]);
      for (let c = 0; c < ns; c++) f.get(pb).f32load((nv * 4 + c) * 4).set(bs[c]);
      for (let r = 0; r < rows; r++) {
        const off = r * s.sai * 4;
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
      f.inc(pa, s.sak * 4).inc(pb, pack ? nc * 4 : s.sbk * 4);
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
  const rows = (nc: number) => {
    f.get(ma).set(ia).get(jc).set(ic).get(jr).set(ir);
    f.repeat({ local: mTiles }, () => {
      tile(MR, nc);
      f.inc(ia, MR * s.sai * 4).inc(ic, MR * s.sci * 4).inc(ir, MR * sri * 4);
    });
    for (let r = 1; r < MR; r++) {
      f.get(mRem).i32(r).eq().if();
      tile(r, nc);
      f.end();
    }
  };
  const nJ = Math.floor(s.N / NR);
  const nRem = s.N % NR;
  // one row block [ma.., mRows rows] x all columns, k range [ka.., kc]
  const rowBlock = () => {
    f.get(mRows).i32(MR).divU().set(mTiles);
    f.get(mRows).i32(MR).remU().set(mRem);
    f.get(mcPtr).set(jc).get(mr).set(jr).get(BIAS).set(jbias);
    if (pack) f.get(SCR).get(kDone).i32(NR * 4).mul().add().set(jb);
    else f.get(kb).set(jb);
    f.repeat(nJ, () => {
      rows(NR);
      if (pack) f.incBy(jb, panel);
      else f.inc(jb, NR * 4);
      f.inc(jc, NR * 4).inc(jr, NR * 4).inc(jbias, NR * 4);
    });
    if (nRem > 0) {
      // the partial panel: after the nJ full ones, nRem wide
      if (pack) f.get(SCR).get(panel).i32(nJ).mul().add().get(kDone).i32(nRem * 4).mul().add().set(jb);
      rows(nRem);
    }
  };
  /** B (this batch, at b2b) into panels: [jt][k][NR], then the partial panel [k][nRem] */
  const packB = () => {
    f.get(KK).i32(NR * 4).mul().set(panel);
    f.get(SCR).set(pd);
    const copyPanels = (count: number, width: number, firstCol: number) => {
      if (count === 0 || width === 0) return;
      f.for(count, (jt) => {
        f.get(b2b).get(jt).i32(NR * 4).mul().add().i32(firstCol * 4).add().set(ps);
        f.repeat({ local: KK }, () => {
          for (let c = 0; c < width >> 2; c++) f.get(pd).get(ps).vload(c * 16).vstore(c * 16);
          for (let c = 0; c < (width & 3); c++) f.get(pd).get(ps).f32load(((width & ~3) + c) * 4).f32store(((width & ~3) + c) * 4);
          f.inc(ps, s.sbk * 4).inc(pd, width * 4);
        });
      });
    };
    copyPanels(nJ, NR, 0);
    copyPanels(nRem > 0 ? 1 : 0, nRem, nJ * NR);
  };
  f.get(A).set(ba).get(B).set(bb).get(C).set(bc).get(RES).set(br);
  f.repeat({ local: NB }, () => {
    f.get(ba).set(b2a).get(bb).set(b2b).get(bc).set(b2c).get(br).set(b2r);
    f.repeat(s.nb2 ?? 1, () => {
      if (pack) packB();
      // k blocks
      f.i32(0).set(kDone);
      f.get(b2a).set(ka).get(b2b).set(kb).get(KK).set(kLeft).i32(1).set(first);
      f.block().loop();
      {
        if (KC) f.i32(KC).get(kLeft).get(kLeft).i32(KC).geS().select().set(kc);
        else f.get(kLeft).set(kc);
        // row blocks
        f.get(ka).set(ma).get(b2c).set(mcPtr).get(b2r).set(mr).get(M).set(mLeft);
        f.block().loop();
        {
          f.get(mLeft).i32(0).leS().brIf(1);
          if (MC) f.i32(MC).get(mLeft).get(mLeft).i32(MC).geS().select().set(mRows);
          else f.get(mLeft).set(mRows);
          rowBlock();
          f.get(mLeft).get(mRows).sub().set(mLeft);
          f.get(ma).get(mRows).i32(s.sai * 4).mul().add().set(ma);
          f.get(mcPtr).get(mRows).i32(s.sci * 4).mul().add().set(mcPtr);
          f.get(mr).get(mRows).i32(sri * 4).mul().add().set(mr);
          f.br(0);
        }
        f.end().end();
        f.i32(0).set(first);
        f.get(kLeft).get(kc).sub().tee(kLeft).i32(0).leS().brIf(1);
        f.get(ka).get(kc).i32(s.sak * 4).mul().add().set(ka);
        f.get(kb).get(kc).i32(s.sbk * 4).mul().add().set(kb);
        f.get(kDone).get(kc).add().set(kDone);
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
function copyKernel(sp: CopySpec): Fn {
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

/**
 * LayerNorm over rows of D (D % 4 == 0): y = (x - mean) * rstd * g + b, and the
 * per-row mean and rstd for the backward pass. eps 1e-5 (torch's default).
 * exported signature: (x, g, b, y, mean, rstd, rows)
 */
function layerNormKernel(D: number, eps: number): Fn {
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
function layerNormBackKernel(D: number, accumulate: boolean): Fn {
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
 * forward (u, y, n): y = 0.5 u (1 + t); backward (u, dy, du, n):
 * du = dy * (0.5 (1 + t) + 0.5 u (1 - t^2) c (1 + 3 a u^2)).
 */
function geluKernel(backward: boolean): Fn {
  const f = backward ? new Fn('k', [I32, I32, I32, I32]) : new Fn('k', [I32, I32, I32]);
  const U = 0;
  const OUT = backward ? 2 : 1;
  const DY = 1;
  const N = backward ? 3 : 2;
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
    emitGeluTanh(f, u, t, tmp, k);
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
  f.get(N).i32(4).divU().set(n4);
  f.repeat({ local: n4 }, () => {
    body((p) => f.get(p).vload());
    f.get(OUT).get(r).vstore();
    f.inc(U, 16).inc(OUT, 16);
    if (backward) f.inc(DY, 16);
  });
  f.get(N).i32(4).remU().set(n4);
  f.repeat({ local: n4 }, () => {
    body((p) => f.get(p).vsplatload());
    f.get(OUT).get(r).lane(0).f32store();
    f.inc(U, 4).inc(OUT, 4);
    if (backward) f.inc(DY, 4);
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
function softmaxKernel(H: number, TQ: number, L: number): Fn {
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
function softmaxBackKernel(L: number, alpha: number): Fn {
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

/**
 * Embedding: x[b, t] = wte[tok[b, t]] + wpe[clamp(t0 + t - off[b], 0, P - 1)].
 * exported signature: (tok, offs, wte, wpe, x, nb, t0)
 */
function embedKernel(T: number, D: number, P: number): Fn {
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
function embedBackKernel(T: number, D: number, V: number, P: number): Fn {
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
function colSumKernel(cols: number): Fn {
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
function logpEntKernel(V: number): Fn {
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
function logpEntBackKernel(V: number): Fn {
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

// ============================================================================
// The kernel set, bound to the tfjs-wasm heap.
// ============================================================================

type KFn = (...args: (number | undefined)[]) => void;

interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmExports?: { memory?: WebAssembly.Memory }; HEAPU8: Uint8Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: string): { dataId: object; shape: number[]; dtype: string };
}

/**
 * rlgrid's kernels on the current tfjs-wasm backend. Pointers are byte
 * offsets into the shared heap; `ptr(t)` finds a tensor's. Buffers come from
 * `alloc`, which makes an ordinary (engine-tracked) float32 tensor.
 */
export class Kernels {
  private readonly cache = new Map<string, KFn>();
  compiles = 0;
  compileMs = 0;
  /** when set, every kernel call adds its wall time here, keyed by label (see profile()) */
  private prof: Map<string, { ms: number; calls: number }> | null = null;

  constructor(
    private readonly be: WasmBackendLike,
    readonly memory: WebAssembly.Memory,
  ) {}

  private compile(key: string, make: () => Fn, label: string): KFn {
    const full = `${label}|${key}`;
    let fn = this.cache.get(full);
    if (!fn) {
      const t0 = performance.now();
      const mod = new WebAssembly.Module(buildModule([make()]) as BufferSource);
      const inst = new WebAssembly.Instance(mod, { env: { memory: this.memory, log: Math.log } });
      const raw = inst.exports.k as (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
      // A fixed-arity wrapper: one flag test per call when not profiling.
      fn = (a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0, i = 0) => {
        const prof = this.prof;
        if (prof === null) return raw(a, b, c, d, e, f, g, h, i);
        const s = performance.now();
        raw(a, b, c, d, e, f, g, h, i);
        const r = prof.get(label) ?? { ms: 0, calls: 0 };
        r.ms += performance.now() - s;
        r.calls++;
        prof.set(label, r);
      };
      this.cache.set(full, fn);
      this.compiles++;
      this.compileMs += performance.now() - t0;
    }
    return fn;
  }

  /** Start (true) or stop (false) per-label kernel timing; returns what was collected. */
  profile(on: boolean): Map<string, { ms: number; calls: number }> {
    const out = this.prof ?? new Map();
    this.prof = on ? new Map() : null;
    return out;
  }

  /** byte offset of a tensor's data in the heap */
  ptr(t: tf.Tensor): number {
    const d = this.be.dataIdMap.get(t.dataId);
    if (!d) throw new Error('tensor is not on the wasm backend');
    return d.memoryOffset;
  }

  /** an uninitialised float32 (or int32) tensor, tracked by the engine */
  alloc(shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
    const info = this.be.makeOutput(shape, dtype);
    return tf.engine().makeTensorFromTensorInfo(info as never);
  }

  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
  i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
  zero(ptr: number, floats: number): void {
    new Uint8Array(this.memory.buffer).fill(0, ptr, ptr + floats * 4);
  }

  gemm(
    s: GemmSpec,
    label = 'gemm',
  ): (a: number, b: number, c: number, bias: number, res: number, m: number, nb: number, k: number, scratch?: number) => void {
    return this.compile('gemm' + JSON.stringify(s), () => gemmKernel(s), label);
  }
  copy(s: CopySpec, label = 'copy'): (src: number, dst: number, n0: number) => void {
    return this.compile('copy' + JSON.stringify(s), () => copyKernel(s), label);
  }
  layerNorm(D: number, eps = 1e-5, label = 'layernorm'): (x: number, g: number, b: number, y: number, mean: number, rstd: number, rows: number) => void {
    return this.compile(`ln${D}:${eps}`, () => layerNormKernel(D, eps), label);
  }
  layerNormBack(
    D: number,
    accumulate: boolean,
    label = 'layernorm.back',
  ): (x: number, mean: number, rstd: number, g: number, dy: number, dx: number, dg: number, db: number, rows: number) => void {
    return this.compile(`lnb${D}:${accumulate}`, () => layerNormBackKernel(D, accumulate), label);
  }
  gelu(label = 'gelu'): (u: number, y: number, n: number) => void {
    return this.compile('gelu', () => geluKernel(false), label);
  }
  geluBack(label = 'gelu.back'): (u: number, dy: number, du: number, n: number) => void {
    return this.compile('gelub', () => geluKernel(true), label);
  }
  softmax(H: number, TQ: number, L: number, label = 'softmax'): (s: number, p: number, offs: number, nb: number, q0: number) => void {
    return this.compile(`sm${H}:${TQ}:${L}`, () => softmaxKernel(H, TQ, L), label);
  }
  softmaxBack(L: number, alpha: number, label = 'softmax.back'): (p: number, dp: number, ds: number, rows: number) => void {
    return this.compile(`smb${L}:${alpha}`, () => softmaxBackKernel(L, alpha), label);
  }
  embed(T: number, D: number, P: number, label = 'embed'): (tok: number, offs: number, wte: number, wpe: number, x: number, nb: number, t0: number) => void {
    return this.compile(`emb${T}:${D}:${P}`, () => embedKernel(T, D, P), label);
  }
  embedBack(T: number, D: number, V: number, P: number, label = 'embed.back'): (tok: number, offs: number, dx: number, dwte: number, dwpe: number, nb: number) => void {
    return this.compile(`embb${T}:${D}:${V}:${P}`, () => embedBackKernel(T, D, V, P), label);
  }
  colSum(cols: number, label = 'colsum'): (x: number, out: number, rows: number) => void {
    return this.compile(`cs${cols}`, () => colSumKernel(cols), label);
  }
  logpEnt(V: number, label = 'logp+entropy'): (lg: number, tg: number, logp: number, ent: number, lp: number, rows: number, invTemp: number) => void {
    return this.compile(`lpe${V}`, () => logpEntKernel(V), label);
  }
  logpEntBack(V: number, label = 'logp+entropy.back'): (lg: number, tg: number, dlogp: number, dent: number, dl: number, rows: number, invTemp: number) => void {
    return this.compile(`lpeb${V}`, () => logpEntBackKernel(V), label);
  }
}

let kernelsFor: { backend: unknown; k: Kernels | null } | null = null;

/**
 * The kernel set for the active backend: non-null only on tfjs `wasm` with
 * SIMD and an accessible heap. Cached per backend instance.
 */
export function kernels(): Kernels | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as WasmBackendLike;
  if (kernelsFor && kernelsFor.backend === be) return kernelsFor.k;
  let k: Kernels | null = null;
  // tfjs-wasm 4.22's emscripten module exposes its exports as `asm`; newer
  // emscripten calls them `wasmExports`. Without the memory: no fast path.
  const memory = be.wasm?.asm?.memory ?? be.wasm?.wasmExports?.memory;
  if (memory instanceof WebAssembly.Memory && wasmSimdSupported()) {
    try {
      k = new Kernels(be, memory);
      // smoke test: compile one kernel against the heap
      k.colSum(4);
    } catch {
      k = null;
    }
  }
  kernelsFor = { backend: be, k };
  return k;
}
