// GEMM kernel variants that bench/gemm.ts measures: other register tiles give
// bit-identical results (each output is the same sequential sum over k), and
// the relaxed-SIMD FMA variant (not used by the model) agrees to rounding.
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import type { GemmSpec } from '../../src/nn/wasm/kernels-gemm.ts';
import { kernels, type Kernels } from '../../src/nn/wasm/runtime.ts';
import { relaxedSimdSupported } from '../../src/nn/wasm/simd.ts';
import { Rng } from '../../src/util/rng.ts';
import { useBackend } from '../helpers/backend.ts';

describe('nn/backend: GEMM variants', function () {
  let K: Kernels;
  useBackend('wasm');
  before(function () {
    const k = kernels();
    if (!k) this.skip();
    K = k!;
  });

  // M x K . K x N with a bias, the model's training spec shape (B packed, row and k blocks), odd sizes for the edges
  const M = 37;
  const Kd = 300;
  const N = 45;
  const base: GemmSpec = { N, sai: 1, sak: M, sbk: N, sci: N, MC: 24, KC: 128, packB: true };
  function run(spec: GemmSpec, seed = 1): Float32Array {
    const rng = Rng.seeded(seed);
    const rand = (n: number) => Float32Array.from({ length: n }, () => rng.float() * 2 - 1);
    return tf.tidy(() => {
      const a = tf.tensor(rand(M * Kd));
      const b = tf.tensor(rand(Kd * N));
      const scratch = K.alloc([Kd * N]);
      const c = K.alloc([M * N]);
      K.gemm(spec, 'test')(K.ptr(a), K.ptr(b), K.ptr(c), 0, 0, M, 1, Kd, K.ptr(scratch));
      return c.dataSync() as Float32Array;
    });
  }

  it('other register tiles are bit-identical to the default 4 x 8', () => {
    const ref = run(base);
    for (const [MR, NR, MC] of [
      [6, 8, 24],
      [4, 12, 24],
      [2, 16, 24],
      [8, 4, 24],
    ])
      assert.deepEqual(run({ ...base, MR, NR, MC }), ref, `${MR} x ${NR}`);
    // and a different input gives a different output (the comparison can fail)
    assert.notDeepEqual(run(base, 2), ref);
  });

  it('the relaxed-SIMD FMA variant (behind V8 --experimental-wasm-relaxed-simd) agrees to rounding', () => {
    if (!relaxedSimdSupported()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!relaxedSimdSupported()) return; // a V8 without relaxed SIMD at all
    const ref = run(base);
    const fma = run({ ...base, fma: true });
    // error bound of a length-300 dot product of values in [-1, 1]: ~K * eps * sum|a b|, far below 1e-3
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(fma[i] - ref[i]));
    assert.ok(max < 1e-3, `max abs diff ${max}`);
  });
});
