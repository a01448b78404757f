// The kernel runtime: rlgrid's hand-written WebAssembly SIMD kernels, compiled
// per shape and bound to the tfjs-wasm heap (kernels()).
//
// Why kernels of our own: tfjs-wasm runs a rank-2 matMul through XNNPACK (about
// 39 GFLOP/s here) but repacks its right operand on every call at ~18 ns per
// element, so a weight gradient X^T dY (right operand 3072 x 512) spends 3x
// longer packing than multiplying; a transposed or rank-3 matMul falls to a
// scalar loop (10-40x slower); Transpose, Exp and Tanh are scalar and slow.
// The kernels (kernels-*.ts) are generated at run time as WebAssembly
// (SIMD128), share tfjs-wasm's linear memory (so they read and write tfjs
// tensors in place), and are specialised per shape: a GEMM with arbitrary
// operand strides reaches 45-50 GFLOP/s with no packing at all. See
// docs/performance.md.
//
// Every kernel is row-independent and sums in a fixed order, so a row's result
// does not depend on which other rows share the batch; the model relies on that
// to make KV-cache sampling bit-identical to full-sequence scoring.
import * as tf from '@tensorflow/tfjs';
import type { Fn } from './fn.ts';
import { geluKernel, layerNormBackKernel, layerNormKernel, softmaxBackKernel, softmaxKernel } from './kernels-block.ts';
import { colSumKernel, embedBackKernel, embedKernel, logpEntBackKernel, logpEntKernel } from './kernels-embed-head.ts';
import { copyKernel, gemmKernel, type CopySpec, type GemmSpec } from './kernels-gemm.ts';
import { adamwKernel } from './kernels-optim.ts';
import { wasmSimdSupported } from './simd.ts';
import { buildModule } from './writer.ts';

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

  /** whether a tensor's data lives in this heap (not on another backend) */
  onHeap(t: tf.Tensor): boolean {
    return this.be.dataIdMap.get(t.dataId) !== undefined;
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
  /** saveT: also store tanh(.) to tOut, for geluBack(true) */
  gelu(saveT = false, label = 'gelu'): (u: number, y: number, n: number, tOut?: number) => void {
    return this.compile(`gelu${saveT}`, () => geluKernel(false, saveT), label);
  }
  /** savedT: read tanh(.) from the forward's tOut instead of recomputing it */
  geluBack(savedT = false, label = 'gelu.back'): (u: number, dy: number, du: number, n: number, t?: number) => void {
    return this.compile(`gelub${savedT}`, () => geluKernel(true, savedT), label);
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
  /** one AdamW update (kernels-optim.ts); consts points at ADAMW_CONSTS as f32 */
  adamw(label = 'adamw'): (p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number, n: number, consts: number) => void {
    return this.compile('adamw', () => adamwKernel(), label);
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
