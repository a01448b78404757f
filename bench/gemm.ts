// `npm run bench -- gemm`: rlgrid's GEMM kernel on the reference model's
// training shapes (bench/model.ts: 64 x 48 tokens, d_model 128, MLP 512), the
// model's tiling against candidates, A/B interleaved in one process (each
// round times every variant once, so a shared machine's load hits them
// alike); medians over rounds, in GFLOP/s.
//
//   base       the spec the model uses (register tile 4 x 8, B packed, row/k blocks)
//   tile 6x8 / 4x12 / 2x16, KC 128/256, MC 32/256: other register tiles and
//              cache blocks: bit-identical results (each C element is the
//              same sequential sum over k), checked here
//   fma        relaxed SIMD f32x4.relaxed_madd instead of mul + add (needs
//              --experimental-wasm-relaxed-simd, which this bench sets): NOT
//              bit-identical; the largest relative difference is printed
import os from 'node:os';
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/nn/backend.ts';
import type { GemmSpec } from '../src/nn/wasm/kernels-gemm.ts';
import { kernels } from '../src/nn/wasm/runtime.ts';
import { relaxedSimdSupported } from '../src/nn/wasm/simd.ts';
import { Rng } from '../src/util/rng.ts';

interface Shape {
  name: string;
  M: number;
  K: number;
  spec: GemmSpec;
  /** A's element count (M x K, any layout) */
}

const TOK = 64 * 48;
const D = 128;
const F = 512;
// the specs of src/nn/model/ (training path) for these shapes
const SHAPES: Shape[] = [
  { name: 'fc1 forward (3072x128 . 128x512)', M: TOK, K: D, spec: { N: F, sai: D, sak: 1, sbk: F, sci: F, bias: true, MC: 64, packB: true } },
  { name: 'fc1 dX (3072x512 . 512x128)', M: TOK, K: F, spec: { N: D, sai: F, sak: 1, sbk: D, sci: D, MC: 64, packB: true } },
  { name: 'fc1 dW (128x3072 . 3072x512)', M: D, K: TOK, spec: { N: F, sai: 1, sak: D, sbk: F, sci: F, MC: 128, KC: 128, packB: true } },
  { name: 'fc2 dW (512x3072 . 3072x128)', M: F, K: TOK, spec: { N: D, sai: 1, sak: F, sbk: D, sci: D, MC: 128, KC: 128, packB: true } },
];

export async function benchGemm(): Promise<void> {
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  await initBackend('wasm', 1);
  const K = kernels();
  if (!K) {
    console.log('  no SIMD kernels on this backend');
    return;
  }
  const fma = relaxedSimdSupported();
  const rounds = Number(process.env.RLGRID_BENCH_GEMM_ROUNDS ?? 9);
  console.log(`  ${rounds} interleaved rounds; relaxed SIMD ${fma ? 'on' : 'unavailable'}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} before`);
  const rng = Rng.seeded(1);
  for (const sh of SHAPES) {
    const N = sh.spec.N;
    const a = K.alloc([sh.M * sh.K]);
    const b = K.alloc([sh.K * N]);
    const bias = K.alloc([N]);
    const scratch = K.alloc([sh.K * N + 64]);
    const fill = (t: tf.Tensor) => {
      const f = K.f32();
      const p = K.ptr(t) / 4;
      for (let i = 0; i < t.size; i++) f[p + i] = rng.float() * 2 - 1;
    };
    [a, b, bias].forEach(fill);
    const variants: [string, GemmSpec][] = [
      ['base', sh.spec],
      ['tile 6x8', { ...sh.spec, MR: 6, NR: 8, MC: sh.spec.MC ? sh.spec.MC - (sh.spec.MC % 6) : 0 }],
      ['tile 4x12', { ...sh.spec, MR: 4, NR: 12 }],
      ['tile 2x16', { ...sh.spec, MR: 2, NR: 16 }],
      ['KC 128', { ...sh.spec, KC: 128 }],
      ['KC 256', { ...sh.spec, KC: 256 }],
      ['MC 32', { ...sh.spec, MC: 32 }],
      ['MC 256', { ...sh.spec, MC: 256 }],
      ...(fma ? ([['fma', { ...sh.spec, fma: true }]] as [string, GemmSpec][]) : []),
    ];
    const outs = variants.map(() => K.alloc([sh.M * N]));
    const fns = variants.map(([, s]) => K.gemm(s, 'bench'));
    const run = (v: number) => fns[v](K.ptr(a), K.ptr(b), K.ptr(outs[v]), sh.spec.bias ? K.ptr(bias) : 0, 0, sh.M, 1, sh.K, K.ptr(scratch));
    variants.forEach((_, v) => run(v)); // compile + warm
    const ms: number[][] = variants.map(() => []);
    for (let r = 0; r < rounds; r++)
      for (let v = 0; v < variants.length; v++) {
        const t0 = performance.now();
        for (let i = 0; i < 3; i++) run(v);
        ms[v].push((performance.now() - t0) / 3);
      }
    const f = K.f32();
    const o0 = K.ptr(outs[0]) / 4;
    const flops = 2 * sh.M * sh.K * N;
    console.log(`  ${sh.name}:`);
    variants.forEach(([name], v) => {
      const med = [...ms[v]].sort((x, y) => x - y)[rounds >> 1];
      const ov = K.ptr(outs[v]) / 4;
      let same = true;
      let rel = 0;
      for (let i = 0; i < sh.M * N; i++) {
        const x = f[o0 + i];
        const y = f[ov + i];
        if (x !== y) same = false;
        rel = Math.max(rel, Math.abs(x - y) / Math.max(1e-30, Math.abs(x)));
      }
      const eq = v === 0 ? '' : same ? 'bit-identical' : `differs (max rel ${rel.toExponential(1)})`;
      console.log(`    ${name.padEnd(10)} ${med.toFixed(2).padStart(7)} ms  ${(flops / med / 1e6).toFixed(1).padStart(5)} GFLOP/s  ${eq}`);
    });
    tf.dispose([a, b, bias, scratch, ...outs]);
  }
  console.log(`  load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} after`);
}
