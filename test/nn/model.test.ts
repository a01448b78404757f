import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/nn/backend.ts';
import { kernels, type Kernels } from '../../src/nn/wasm/runtime.ts';
import { wasmSimdSupported } from '../../src/nn/wasm/simd.ts';
import {
  createModel,
  disposeModel,
  forwardLogits,
  getWeights,
  hiddenStates,
  initialWeights,
  meanHidden,
  paramCount,
  paramSpecs,
  score,
  tokenLogProbsAndEntropy,
  usesFastPath,
  type Model,
  type ModelConfig,
} from '../../src/nn/model/index.ts';
import { AdamW } from '../../src/nn/optim.ts';
import { Rng } from '../../src/util/rng.ts';
import { TEST_OPT as OPT } from '../helpers/backend.ts';
import { useBackend } from '../helpers/backend.ts';

const TINY: ModelConfig = { vocab: 11, context: 16, d_model: 16, heads: 2, layers: 2, mlp_ratio: 4 };


function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function randArray(n: number, seed: number, scale = 1): Float32Array {
  const r = Rng.seeded(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

function randTokens(n: number, V: number, seed: number): Int32Array {
  const r = Rng.seeded(seed);
  return Int32Array.from({ length: n }, () => r.int(0, V - 1));
}


/** a tiny model with non-trivial LayerNorm and bias parameters (the init has them at 1 / 0) */
function tinyModel(seed = 3, cfg: ModelConfig = TINY): Model {
  const w = initialWeights(cfg, seed);
  const specs = paramSpecs(cfg);
  const r = Rng.seeded(seed + 100);
  specs.forEach((s, i) => {
    if (s.init.kind !== 'normal') for (let j = 0; j < w[i].length; j++) w[i][j] += r.normal() * 0.1;
  });
  return createModel(cfg, seed, w);
}

describe('nn/backend', () => {
  useBackend('wasm');

  it('initialises wasm and reports SIMD, threads and the tfjs version', async () => {
    const info = await initBackend('wasm', 4);
    assert.equal(info.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.simd, wasmSimdSupported());
    assert.equal(info.threads, 1, 'tfjs-wasm in Node runs single-threaded whatever was asked');
    assert.equal(info.tfjsVersion, tf.version.tfjs);
    assert.equal(info.fastKernels, info.simd);
  });

  it("'auto' falls back to wasm when tfjs-node is absent, and 'tensorflow' says why it cannot run", async () => {
    let nodeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nodeInstalled = false;
    }
    if (nodeInstalled) return; // this machine has it: 'auto' would pick tensorflow
    const info = await initBackend('auto', 1);
    assert.equal(info.backend, 'wasm');
    await assert.rejects(initBackend('tensorflow', 1), /tfjs-node/);
  });

  it('runs the cpu backend without the SIMD kernels', async () => {
    const info = await initBackend('cpu', 1);
    assert.equal(info.backend, 'cpu');
    assert.equal(info.fastKernels, false);
    assert.equal(kernels(), null);
    await initBackend('wasm', 1);
  });
});

describe('nn/backend kernels (WebAssembly SIMD, checked against tfjs and float64)', function () {
  let K: Kernels;
  useBackend('wasm');
  before(function () {
    const k = kernels();
    if (!k) this.skip();
    K = k!;
  });

  const t = (data: Float32Array | Int32Array, shape: number[]) => tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32');

  it('gemm: strides, transposed A, two batch levels, bias, residual, alpha, accumulate', () => {
    tf.tidy(() => {
      const M = 7;
      const Kd = 5;
      const N = 13; // a vector tile, a partial vector tile, scalar columns
      const a = t(randArray(M * Kd, 1), [M, Kd]);
      const b = t(randArray(Kd * N, 2), [Kd, N]);
      const bias = t(randArray(N, 3), [N]);
      const r = t(randArray(M * N, 4), [M, N]);
      const ab = tf.matMul(a, b);
      const c = K.alloc([M, N]);
      K.gemm({ N, sai: Kd, sak: 1, sbk: N, sci: N, bias: true, residual: true })(K.ptr(a), K.ptr(b), K.ptr(c), K.ptr(bias), K.ptr(r), M, 1, Kd);
      assert.ok(maxAbsDiff(c.dataSync(), tf.add(tf.add(ab, bias), r).dataSync()) < 1e-5);
      const at = tf.transpose(a);
      K.gemm({ N, sai: 1, sak: M, sbk: N, sci: N, alpha: 0.5 })(K.ptr(at), K.ptr(b), K.ptr(c), 0, 0, M, 1, Kd);
      assert.ok(maxAbsDiff(c.dataSync(), tf.mul(ab, 0.5).dataSync()) < 1e-5);
      const c0 = c.dataSync().slice() as Float32Array;
      K.gemm({ N, sai: Kd, sak: 1, sbk: N, sci: N, accumulate: true })(K.ptr(a), K.ptr(b), K.ptr(c), 0, 0, M, 1, Kd);
      assert.ok(maxAbsDiff(c.dataSync(), tf.add(ab, t(c0, [M, N])).dataSync()) < 1e-5);
      const B = 3;
      const H = 2;
      const A4 = t(randArray(B * H * M * Kd, 5), [B, H, M, Kd]);
      const B4 = t(randArray(B * H * Kd * N, 6), [B, H, Kd, N]);
      const C4 = K.alloc([B, H, M, N]);
      K.gemm({ N, sai: Kd, sak: 1, sbk: N, sci: N, nb2: H, sa1: H * M * Kd, sb1: H * Kd * N, sc1: H * M * N, sa2: M * Kd, sb2: Kd * N, sc2: M * N })(
        K.ptr(A4), K.ptr(B4), K.ptr(C4), 0, 0, M, B, Kd,
      );
      assert.ok(maxAbsDiff(C4.dataSync(), tf.matMul(A4, B4).dataSync()) < 1e-5);
    });
  });

  it('gemm: cache blocking (MC, KC, any remainders) gives bit-identical results', () => {
    tf.tidy(() => {
      const M = 37;
      const Kd = 101;
      const N = 20;
      const a = t(randArray(M * Kd, 7), [M, Kd]);
      const b = t(randArray(Kd * N, 8), [Kd, N]);
      const bias = t(randArray(N, 9), [N]);
      const outs = [{}, { MC: 8 }, { KC: 16 }, { MC: 12, KC: 7 }, { MR: 2, NR: 16, MC: 6, KC: 33 }].map((blk) => {
        const c = K.alloc([M, N]);
        K.gemm({ N, sai: Kd, sak: 1, sbk: N, sci: N, bias: true, ...blk })(K.ptr(a), K.ptr(b), K.ptr(c), K.ptr(bias), 0, M, 1, Kd);
        return c.dataSync() as Float32Array;
      });
      assert.ok(maxAbsDiff(outs[0], tf.add(tf.matMul(a, b), bias).dataSync()) < 1e-4);
      for (const o of outs.slice(1)) assert.ok(sameBits(o, outs[0]), 'blocking must not change any bit');
      // the same rows in a smaller batch: the same bits (row independence)
      const c5 = K.alloc([5, N]);
      K.gemm({ N, sai: Kd, sak: 1, sbk: N, sci: N, bias: true })(K.ptr(a) + 10 * Kd * 4, K.ptr(b), K.ptr(c5), K.ptr(bias), 0, 5, 1, Kd);
      assert.ok(sameBits(c5.dataSync() as Float32Array, outs[0].slice(10 * N, 15 * N)));
    });
  });

  it('copy: strided 4-d transposes', () => {
    tf.tidy(() => {
      const [B, T, H, DH] = [2, 5, 3, 4];
      const x = t(randArray(B * T * H * DH, 10), [B, T, H, DH]);
      const y = K.alloc([B, H, DH, T]);
      K.copy({ n: [H, DH, T], s: [T * H * DH, DH, 1, H * DH], d: [H * DH * T, DH * T, T, 1] })(K.ptr(x), K.ptr(y), B);
      assert.ok(sameBits(y.dataSync() as Float32Array, tf.transpose(x, [0, 2, 3, 1]).dataSync() as Float32Array));
    });
  });

  it('layerNorm forward and backward match tfjs ops and autograd', () => {
    tf.tidy(() => {
      const R = 6;
      const D = 12;
      const x = t(randArray(R * D, 11, 3), [R, D]);
      const g = t(randArray(D, 12), [D]);
      const b = t(randArray(D, 13), [D]);
      const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const m = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(x, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5))), g), b);
      };
      const y = K.alloc([R, D]);
      const mean = K.alloc([R]);
      const rstd = K.alloc([R]);
      K.layerNorm(D)(K.ptr(x), K.ptr(g), K.ptr(b), K.ptr(y), K.ptr(mean), K.ptr(rstd), R);
      assert.ok(maxAbsDiff(y.dataSync(), ln(x, g, b).dataSync()) < 1e-5);
      const dy = t(randArray(R * D, 14), [R, D]);
      const [gx, gg, gb] = tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ln(x, g, b), dy)))([x, g, b]);
      const dx0 = randArray(R * D, 15);
      const dx = t(dx0, [R, D]);
      const dg = K.alloc([D]);
      const db = K.alloc([D]);
      K.zero(K.ptr(dg), D);
      K.zero(K.ptr(db), D);
      K.layerNormBack(D, true)(K.ptr(x), K.ptr(mean), K.ptr(rstd), K.ptr(g), K.ptr(dy), K.ptr(dx), K.ptr(dg), K.ptr(db), R);
      assert.ok(maxAbsDiff(dx.dataSync(), tf.add(gx, t(dx0, [R, D])).dataSync()) < 1e-5, 'dx accumulates into the buffer');
      assert.ok(maxAbsDiff(dg.dataSync(), gg.dataSync()) < 1e-5);
      assert.ok(maxAbsDiff(db.dataSync(), gb.dataSync()) < 1e-5);
    });
  });

  it('exp (inside GELU and softmax) is accurate to a few ulp over the float range', () => {
    tf.tidy(() => {
      // softmax of a row [x, 0] = e^x / (e^x + 1): check e^x through it over a wide range
      const xs = Float32Array.from({ length: 400 }, (_, i) => -80 + i * 0.4);
      const S = new Float32Array(xs.length * 2);
      xs.forEach((x, i) => {
        S[2 * i] = x;
        S[2 * i + 1] = 0;
      });
      // one "batch" of rows 2 keys long; query position 1 sees keys 0..1
      const s = t(S, [xs.length, 1, 1, 2]);
      const p = K.alloc([xs.length, 1, 1, 2]);
      const offs = t(new Int32Array(xs.length), [xs.length]);
      K.softmax(1, 1, 2)(K.ptr(s), K.ptr(p), K.ptr(offs), xs.length, 1);
      const pv = p.dataSync();
      xs.forEach((x, i) => {
        const ref = x > 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (Math.exp(x) + 1);
        assert.ok(Math.abs(pv[2 * i] - ref) <= 4e-7 * Math.max(ref, 1e-30) + 1e-37, `exp at ${x}: ${pv[2 * i]} vs ${ref}`);
      });
    });
  });

  it('gelu forward and backward match the tanh formula (float64) and tfjs autograd', () => {
    tf.tidy(() => {
      const n = 1031; // a tail of 3
      const u0 = Float32Array.from({ length: n }, (_, i) => -9 + (18 * i) / n);
      const u = t(u0, [n]);
      const y = K.alloc([n]);
      K.gelu()(K.ptr(u), K.ptr(y), n);
      const c = Math.sqrt(2 / Math.PI);
      const yv = y.dataSync();
      u0.forEach((x, i) => {
        const ref = 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3)));
        assert.ok(Math.abs(yv[i] - ref) < 1e-6 * Math.max(1, Math.abs(ref)), `gelu(${x}) = ${yv[i]}, expected ${ref}`);
      });
      const dy = t(randArray(n, 16), [n]);
      const du = K.alloc([n]);
      K.geluBack()(K.ptr(u), K.ptr(dy), K.ptr(du), n);
      const gf = (u: tf.Tensor) => tf.mul(tf.mul(u, 0.5), tf.add(1, tf.tanh(tf.mul(c, tf.add(u, tf.mul(0.044715, tf.pow(u, 3)))))));
      const ref = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(gf(u), dy)))(u);
      assert.ok(maxAbsDiff(du.dataSync(), ref.dataSync()) < 1e-5);
      // training keeps tanh(.) from the forward for the backward: the same bits as recomputing it
      const y2 = K.alloc([n]);
      const th = K.alloc([n]);
      K.gelu(true)(K.ptr(u), K.ptr(y2), n, K.ptr(th));
      const thv = th.dataSync();
      u0.forEach((x, i) => assert.ok(Math.abs(thv[i] - Math.tanh(c * (x + 0.044715 * x ** 3))) < 1e-6, `tanh kept for ${x}`));
      const bits = (x: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(x.dataSync()).buffer));
      assert.deepEqual(bits(y2), bits(y));
      const du2 = K.alloc([n]);
      K.geluBack(true)(K.ptr(u), K.ptr(dy), K.ptr(du2), n, K.ptr(th));
      assert.deepEqual(bits(du2), bits(du));
    });
  });

  it('causal softmax with left padding: exact zeros outside [off, i], rows sum to 1', () => {
    tf.tidy(() => {
      const [B, H, T] = [2, 2, 7];
      const off = [0, 3];
      const sv = randArray(B * H * T * T, 17, 4);
      const s = t(sv, [B, H, T, T]);
      const p = K.alloc([B, H, T, T]);
      K.softmax(H, T, T)(K.ptr(s), K.ptr(p), K.ptr(t(Int32Array.from(off), [B])), B, 0);
      const pv = p.dataSync();
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let i = 0; i < T; i++) {
            const lo = i < off[b] ? i : off[b];
            const base = ((b * H + h) * T + i) * T;
            let m = -Infinity;
            for (let j = lo; j <= i; j++) m = Math.max(m, sv[base + j]);
            let sum = 0;
            for (let j = lo; j <= i; j++) sum += Math.exp(sv[base + j] - m);
            for (let j = 0; j < T; j++) {
              const ref = j >= lo && j <= i ? Math.exp(sv[base + j] - m) / sum : 0;
              if (ref === 0) assert.equal(pv[base + j], 0);
              else assert.ok(Math.abs(pv[base + j] - ref) < 1e-6);
            }
          }
      const dp = t(randArray(B * H * T * T, 18), [B, H, T, T]);
      const ds = K.alloc([B, H, T, T]);
      K.softmaxBack(T, 0.5)(K.ptr(p), K.ptr(dp), K.ptr(ds), B * H * T);
      const P = t(pv as Float32Array, [B, H, T, T]);
      const ref = tf.mul(tf.mul(P, tf.sub(dp, tf.sum(tf.mul(P, dp), -1, true))), 0.5);
      assert.ok(maxAbsDiff(ds.dataSync(), ref.dataSync()) < 1e-6);
    });
  });

  it('embedding forward and backward (positions from the first real token, clamped)', () => {
    tf.tidy(() => {
      const [B, T, D, V, P] = [2, 5, 8, 6, 4];
      const tok = Int32Array.from([1, 2, 3, 4, 5, 0, 0, 5, 5, 1]);
      const off = Int32Array.from([0, 2]);
      const wte = randArray(V * D, 19);
      const wpe = randArray(P * D, 20);
      const x = K.alloc([B, T, D]);
      K.embed(T, D, P)(K.ptr(t(tok, [B, T])), K.ptr(t(off, [B])), K.ptr(t(wte, [V, D])), K.ptr(t(wpe, [P, D])), K.ptr(x), B, 0);
      const pos = [0, 1, 2, 3, 3, 0, 0, 0, 1, 2]; // row 0 position 4 clamps to P - 1
      const xv = x.dataSync();
      for (let n = 0; n < B * T; n++)
        for (let d = 0; d < D; d++) assert.equal(xv[n * D + d], Math.fround(wte[tok[n] * D + d] + wpe[pos[n] * D + d]));
      const dx = randArray(B * T * D, 21);
      const dwte = K.alloc([V, D]);
      const dwpe = K.alloc([6, D]);
      K.embedBack(T, D, V, 6)(K.ptr(t(tok, [B, T])), K.ptr(t(off, [B])), K.ptr(t(dx, [B, T, D])), K.ptr(dwte), K.ptr(dwpe), B);
      const ew = new Float64Array(V * D);
      const ep = new Float64Array(6 * D);
      const bpos = [0, 1, 2, 3, 4, 0, 0, 0, 1, 2];
      for (let n = 0; n < B * T; n++)
        for (let d = 0; d < D; d++) {
          ew[tok[n] * D + d] += dx[n * D + d];
          ep[bpos[n] * D + d] += dx[n * D + d];
        }
      assert.ok(maxAbsDiff(dwte.dataSync(), ew) < 1e-5);
      assert.ok(maxAbsDiff(dwpe.dataSync(), ep) < 1e-5);
    });
  });

  it('column sums and per-row logp/entropy (and their backward) match float64 references', () => {
    tf.tidy(() => {
      const [R, V] = [9, 7];
      const lg = randArray(R * V, 22, 3);
      const cs = K.alloc([V]);
      K.colSum(V)(K.ptr(t(lg, [R, V])), K.ptr(cs), R);
      const csv = cs.dataSync();
      for (let j = 0; j < V; j++) {
        let s = 0;
        for (let i = 0; i < R; i++) s += lg[i * V + j];
        assert.ok(Math.abs(csv[j] - s) < 1e-5);
      }
      const tg = Int32Array.from({ length: R }, (_, i) => (i === 4 ? -1 : (i * 3) % V));
      const temp = 0.7;
      const logp = K.alloc([R]);
      const ent = K.alloc([R]);
      const lp = K.alloc([R, V]);
      const lgT = t(lg, [R, V]);
      const tgT = t(tg, [R]);
      K.logpEnt(V)(K.ptr(lgT), K.ptr(tgT), K.ptr(logp), K.ptr(ent), K.ptr(lp), R, Math.fround(1 / temp));
      const [lv, ev, lpv] = [logp.dataSync(), ent.dataSync(), lp.dataSync()];
      for (let i = 0; i < R; i++) {
        const z = Array.from({ length: V }, (_, j) => lg[i * V + j] / temp);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
        const H = lse - z.reduce((s, x) => s + Math.exp(x - lse) * x, 0);
        assert.ok(Math.abs(ev[i] - H) < 1e-5, `entropy row ${i}`);
        assert.ok(Math.abs(lv[i] - (tg[i] < 0 ? 0 : z[tg[i]] - lse)) < 1e-5, `logp row ${i}`);
        for (let j = 0; j < V; j++) assert.ok(Math.abs(lpv[i * V + j] - (z[j] - lse)) < 1e-5);
        if (tg[i] >= 0) assert.equal(lv[i], lpv[i * V + tg[i]], 'the target logp is the same number as the full row');
      }
      // backward against tfjs autograd of the same formulas
      const dlogp = t(randArray(R, 23), [R]);
      const dent = t(randArray(R, 24), [R]);
      const dl = K.alloc([R, V]);
      K.logpEntBack(V)(K.ptr(lgT), K.ptr(tgT), K.ptr(dlogp), K.ptr(dent), K.ptr(dl), R, Math.fround(1 / temp));
      const ref = tf.grad((x: tf.Tensor) => {
        const z = tf.div(x, temp);
        const lse = tf.logSumExp(z, -1);
        const valid = tf.greaterEqual(tgT, 0);
        const oh = tf.oneHot(tf.maximum(tgT, tf.scalar(0, 'int32')) as tf.Tensor1D, V).toFloat();
        const lpT = tf.where(valid, tf.sub(tf.sum(tf.mul(z, oh), -1), lse), tf.zerosLike(lse));
        const H = tf.sub(lse, tf.sum(tf.mul(tf.softmax(z), z), -1));
        return tf.add(tf.sum(tf.mul(lpT, dlogp)), tf.sum(tf.mul(H, dent)));
      })(lgT);
      assert.ok(maxAbsDiff(dl.dataSync(), ref.dataSync()) < 1e-5);
    });
  });
});

describe('nn/model', () => {
  useBackend('wasm');

  it("has torch_ref.py's parameter count on its shape, and a deterministic seeded init", () => {
    const torchShape: ModelConfig = { vocab: 32, context: 48, d_model: 128, heads: 4, layers: 2, mlp_ratio: 4 };
    assert.equal(paramCount(torchShape), 411168); // torch_ref.py prints {"params": 411168}
    const a = initialWeights(TINY, 7);
    const b = initialWeights(TINY, 7);
    const c = initialWeights(TINY, 8);
    assert.ok(a.every((x, i) => sameBits(x, b[i])));
    assert.ok(!sameBits(a[0], c[0]));
    const specs = paramSpecs(TINY);
    specs.forEach((s, i) => {
      if (s.init.kind === 'ones') assert.ok(a[i].every((v) => v === 1), s.name);
      if (s.init.kind === 'zeros') assert.ok(a[i].every((v) => v === 0), s.name);
    });
    // std of a large normal-initialised matrix
    const big = initialWeights(torchShape, 1)[paramSpecs(torchShape).findIndex((s) => s.name === 'blocks.0.mlp.fc1.w')];
    const std = Math.sqrt(big.reduce((s, v) => s + v * v, 0) / big.length);
    assert.ok(Math.abs(std - 0.02) < 0.0005, `std ${std}`);
    const m = createModel(TINY, 7);
    assert.deepEqual(m.names, specs.map((s) => s.name));
    assert.ok(getWeights(m).every((w, i) => sameBits(w, a[i])));
    assert.ok(m.params.every((p) => p.trainable));
    disposeModel(m);
    assert.throws(() => createModel({ ...TINY, heads: 3 }, 1), /divisible/);
  });

  it('the fast path matches the generic tfjs path: logits, logp, entropy and every gradient (with left padding)', function () {
    const m = tinyModel();
    if (!usesFastPath(m)) this.skip();
    const B = 3;
    const T = 9;
    const offsets = Int32Array.from([0, 2, 5]);
    const tok = tf.tensor2d(randTokens(B * T, TINY.vocab, 1), [B, T], 'int32');
    const tgtArr = randTokens(B * T, TINY.vocab, 2);
    tgtArr[4] = -1; // no target: logp 0
    const tgt = tf.tensor2d(tgtArr, [B, T], 'int32');
    const w = tf.tensor2d(randArray(B * T, 3), [B, T]);
    const run = (engine: 'fast' | 'generic') => {
      m.engine = engine;
      const logits = forwardLogits(m, tok, { offsets });
      const { value, grads } = tf.variableGrads(() => {
        const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, 0.7, { offsets });
        return tf.add(tf.sum(tf.mul(logp, w)), tf.mul(tf.sum(entropy), 0.3)) as tf.Scalar;
      }, m.params);
      const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, 0.7, { offsets });
      const out = {
        logits: logits.dataSync() as Float32Array,
        logp: logp.dataSync() as Float32Array,
        entropy: entropy.dataSync() as Float32Array,
        loss: value.dataSync()[0],
        grads: m.params.map((p) => grads[p.name].dataSync() as Float32Array),
      };
      tf.dispose([logits, value, logp, entropy, ...Object.values(grads)]);
      return out;
    };
    const f = run('fast');
    const g = run('generic');
    m.engine = 'auto';
    assert.ok(maxAbsDiff(f.logits, g.logits) < 1e-5);
    assert.ok(maxAbsDiff(f.logp, g.logp) < 1e-5);
    assert.ok(maxAbsDiff(f.entropy, g.entropy) < 1e-5);
    assert.equal(f.logp[4], 0);
    assert.ok(Math.abs(f.loss - g.loss) < 1e-4 * Math.abs(g.loss));
    f.grads.forEach((fg, i) => {
      const scale = Math.max(maxAbs(g.grads[i]), 1e-3);
      assert.ok(maxAbsDiff(fg, g.grads[i]) < 2e-5 * scale + 1e-7, `gradient of ${m.names[i]}: ${maxAbsDiff(fg, g.grads[i])} (scale ${scale})`);
      assert.ok(maxAbs(fg) > 0, `gradient of ${m.names[i]} is not all zero`);
    });
    tf.dispose([tok, tgt, w]);
    disposeModel(m);
  });

  it('logp and entropy are those of softmax(logits / temperature) (float64 check)', () => {
    const m = tinyModel(5);
    for (const engine of ['fast', 'generic'] as const) {
      m.engine = engine;
      if (engine === 'fast' && !usesFastPath({ ...m, engine: 'auto' })) continue;
      const [B, T, V] = [2, 6, TINY.vocab];
      const tokA = randTokens(B * T, V, 4);
      const tgtA = randTokens(B * T, V, 5);
      const tok = tf.tensor2d(tokA, [B, T], 'int32');
      const tgt = tf.tensor2d(tgtA, [B, T], 'int32');
      const logits = forwardLogits(m, tok).dataSync();
      for (const temp of [1, 0.5, 2]) {
        const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, temp);
        const [lv, ev] = [logp.dataSync(), entropy.dataSync()];
        for (let n = 0; n < B * T; n++) {
          const z = Array.from({ length: V }, (_, j) => logits[n * V + j] / temp);
          const mx = Math.max(...z);
          const lse = mx + Math.log(z.reduce((s, x) => s + Math.exp(x - mx), 0));
          const p = z.map((x) => Math.exp(x - lse));
          const H = -p.reduce((s, pi) => s + pi * Math.log(pi), 0);
          assert.ok(Math.abs(lv[n] - (z[tgtA[n]] - lse)) < 1e-5, `${engine} logp`);
          assert.ok(Math.abs(ev[n] - H) < 1e-5, `${engine} entropy`);
        }
        tf.dispose([logp, entropy]);
      }
      tf.dispose([tok, tgt]);
    }
    disposeModel(m);
  });

  it("a row's numbers do not depend on its padding or its batch (bit for bit on the fast path)", function () {
    const m = tinyModel(6);
    if (!usesFastPath(m)) this.skip();
    const V = TINY.vocab;
    const row = [3, 1, 4, 1, 5, 9, 2];
    const tgtRow = [1, 4, 1, 5, 9, 2, 6];
    const alone = tokenLogProbsAndEntropy(m, tf.tensor2d([row], [1, 7], 'int32'), tf.tensor2d([tgtRow], [1, 7], 'int32'), 1);
    const la = alone.logp.dataSync() as Float32Array;
    const ea = alone.entropy.dataSync() as Float32Array;
    // left-padded by 3 inside a batch with two other rows
    const pad = 3;
    const T = 7 + pad;
    const others = randTokens(2 * T, V, 9);
    const tok = new Int32Array(3 * T);
    const tgt = new Int32Array(3 * T).fill(-1);
    tok.set(others.subarray(0, T), 0);
    for (let t = 0; t < 7; t++) {
      tok[T + pad + t] = row[t];
      tgt[T + pad + t] = tgtRow[t];
    }
    tok.set(others.subarray(T), 2 * T);
    const padded = tokenLogProbsAndEntropy(m, tf.tensor2d(tok, [3, T], 'int32'), tf.tensor2d(tgt, [3, T], 'int32'), 1, {
      offsets: Int32Array.from([0, pad, 0]),
    });
    const lp = (padded.logp.dataSync() as Float32Array).slice(T + pad, 2 * T);
    const ep = (padded.entropy.dataSync() as Float32Array).slice(T + pad, 2 * T);
    assert.ok(sameBits(lp, la), 'logp under left padding');
    assert.ok(sameBits(ep, ea), 'entropy under left padding');
    // and score() (right padding, any batch size) gives the same bits
    const seqs = [[...row, tgtRow[6]], Array.from(others.subarray(0, 12)), [2, 2]];
    for (const batchSize of [1, 2, 3]) {
      const sc = score(m, seqs, 1, { batchSize });
      assert.ok(sameBits(sc.logp[0], la), `score logp, batch ${batchSize}`);
      assert.ok(sameBits(sc.entropy[0], ea), `score entropy, batch ${batchSize}`);
      assert.deepEqual(sc.lengths, [8, 12, 2]);
      assert.equal(sc.logp[2].length, 1);
    }
    tf.dispose([alone.logp, alone.entropy, padded.logp, padded.entropy]);
    disposeModel(m);
  });

  it('lengths (right padding): the padding is not computed; real positions and every gradient are the padded call\'s bit for bit, padding gives 0', function () {
    const m = tinyModel(8);
    if (!usesFastPath(m)) this.skip();
    const [B, T, V] = [4, 10, TINY.vocab];
    const lengths = Int32Array.from([10, 3, 7, 1]);
    const tok = tf.tensor2d(randTokens(B * T, V, 11), [B, T], 'int32');
    const tgtArr = randTokens(B * T, V, 12);
    tgtArr[2] = -1;
    const tgt = tf.tensor2d(tgtArr, [B, T], 'int32');
    const real = Float32Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0));
    const mask = tf.tensor2d(real, [B, T]);
    const w = tf.tensor2d(randArray(B * T, 13), [B, T]);
    const run = (engine: 'fast' | 'generic', opts: { lengths?: Int32Array }) => {
      m.engine = engine;
      const { value, grads } = tf.variableGrads(() => {
        const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, 0.9, opts);
        // the padding is masked out, as every loss of the trainer does
        return tf.sum(tf.mul(tf.add(tf.mul(logp, w), tf.mul(entropy, 0.2)), mask)) as tf.Scalar;
      }, m.params);
      const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, 0.9, opts);
      const out = { logp: logp.dataSync() as Float32Array, entropy: entropy.dataSync() as Float32Array, loss: value.dataSync()[0], grads: m.params.map((p) => grads[p.name].dataSync() as Float32Array) };
      tf.dispose([value, logp, entropy, ...Object.values(grads)]);
      return out;
    };
    const padded = run('fast', {});
    const packed = run('fast', { lengths });
    const generic = run('generic', { lengths });
    m.engine = 'auto';
    assert.equal(packed.loss, padded.loss);
    packed.grads.forEach((g, i) => assert.ok(sameBits(g, padded.grads[i]), `gradient of ${m.names[i]}`));
    for (let i = 0; i < B * T; i++) {
      if (real[i]) {
        assert.ok(Object.is(packed.logp[i], padded.logp[i]) && Object.is(packed.entropy[i], padded.entropy[i]), `position ${i}`);
      } else {
        assert.equal(packed.logp[i], 0);
        assert.equal(packed.entropy[i], 0);
        assert.notEqual(padded.entropy[i], 0, 'the padded call computes the padding');
      }
    }
    assert.ok(maxAbsDiff(packed.logp, generic.logp) < 1e-5);
    assert.ok(maxAbsDiff(packed.entropy, generic.entropy) < 1e-5);
    packed.grads.forEach((g, i) => assert.ok(maxAbsDiff(g, generic.grads[i]) < 2e-5 * Math.max(maxAbs(generic.grads[i]), 1e-3) + 1e-7, `generic gradient of ${m.names[i]}`));
    // every row empty: all padding, zeros, still differentiable
    const none = run('fast', { lengths: new Int32Array(B) });
    m.engine = 'auto';
    assert.ok(none.logp.every((v) => v === 0) && none.entropy.every((v) => v === 0));
    assert.throws(() => tokenLogProbsAndEntropy(m, tok, tgt, 1, { lengths: Int32Array.from([1, 2]) }), /lengths: expected 4/);
    assert.throws(() => tokenLogProbsAndEntropy(m, tok, tgt, 1, { lengths: Int32Array.from([1, 2, 3, 11]) }), /outside \[0, 10\]/);
    assert.throws(() => tokenLogProbsAndEntropy(m, tok, tgt, 1, { lengths, offsets: Int32Array.from([0, 1, 0, 0]) }), /cannot be combined/);
    tf.dispose([tok, tgt, mask, w]);
    disposeModel(m);
  });

  it('score() accepts context + 1 tokens, checks tokens, and agrees with the generic path', () => {
    const m = tinyModel(7);
    const seqs = [Array.from(randTokens(TINY.context + 1, TINY.vocab, 10)), [1], [], [4, 5, 6]];
    const a = score(m, seqs, 0.8);
    m.engine = 'generic';
    const b = score(m, seqs, 0.8);
    m.engine = 'auto';
    assert.deepEqual(
      a.logp.map((x) => x.length),
      [TINY.context, 0, 0, 2],
    );
    a.logp.forEach((x, i) => assert.ok(maxAbsDiff(x, b.logp[i]) < 1e-5));
    a.entropy.forEach((x, i) => assert.ok(maxAbsDiff(x, b.entropy[i]) < 1e-5));
    assert.throws(() => score(m, [Array.from({ length: TINY.context + 2 }, () => 1)], 1), /context/);
    assert.throws(() => score(m, [[1, TINY.vocab]], 1), /vocabulary/);
    assert.throws(() => score(m, [[1, 2]], 0), /temperature/);
    disposeModel(m);
  });

  it('hiddenStates are the final LayerNorm outputs; meanHidden averages them over real tokens', () => {
    const m = tinyModel(8);
    const seqs = [[1, 2, 3, 4, 5], [6, 7]];
    const emb = meanHidden(m, seqs);
    assert.equal(emb.length, 2);
    for (const [i, s] of seqs.entries()) {
      const h = hiddenStates(m, tf.tensor2d([s], [1, s.length], 'int32'));
      assert.deepEqual(h.shape, [1, s.length, TINY.d_model]);
      const hv = h.dataSync();
      for (let d = 0; d < TINY.d_model; d++) {
        let acc = 0;
        for (let t = 0; t < s.length; t++) acc += hv[t * TINY.d_model + d];
        assert.ok(Math.abs(emb[i][d] - acc / s.length) < 1e-5);
      }
      // LayerNorm output with the model's gain and bias: per-token mean of (h - b) / g is ~0
      h.dispose();
    }
    m.engine = 'generic';
    const g = meanHidden(m, seqs);
    g.forEach((x, i) => assert.ok(maxAbsDiff(x, emb[i]) < 1e-5));
    disposeModel(m);
  });

  for (const engine of ['fast', 'generic'] as const) {
    it(`${engine}: no tensor leaks across training steps, scoring and hidden states`, function () {
      const m = tinyModel(9);
      m.engine = engine;
      if (engine === 'fast' && !usesFastPath({ ...m, engine: 'auto' })) this.skip();
      const opt = new AdamW(m.params, OPT);
      const tok = tf.tensor2d(randTokens(4 * 8, TINY.vocab, 11), [4, 8], 'int32');
      const tgt = tf.tensor2d(randTokens(4 * 8, TINY.vocab, 12), [4, 8], 'int32');
      const step = () => {
        const { value, grads } = tf.variableGrads(() => {
          const { logp, entropy } = tokenLogProbsAndEntropy(m, tok, tgt, 1);
          // recorded on the tape but not part of the loss: its backward never runs (the
          // fast path then frees its kept activations at the next forward pass)
          tf.dispose(Object.values(tokenLogProbsAndEntropy(m, tok, tgt, 2)));
          return tf.sub(tf.mean(entropy), tf.mean(logp)) as tf.Scalar;
        }, m.params);
        opt.step(grads, 1e-3);
        tf.dispose([value, grads]);
        score(m, [[1, 2, 3], [4, 5]], 1);
        tf.dispose(hiddenStates(m, tok));
        tf.dispose(forwardLogits(m, tok));
      };
      step();
      const n0 = tf.memory().numTensors;
      const b0 = tf.memory().numBytes;
      for (let i = 0; i < 3; i++) step();
      assert.equal(tf.memory().numTensors, n0);
      assert.equal(tf.memory().numBytes, b0);
      tf.dispose([tok, tgt]);
      opt.dispose();
      disposeModel(m);
    });

    it(`${engine}: the same seed gives bit-identical weights after training steps (and training learns)`, function () {
      if (engine === 'fast' && !kernels()) this.skip();
      const train = () => {
        const m = createModel(TINY, 21);
        m.engine = engine;
        const opt = new AdamW(m.params, OPT);
        const rng = Rng.seeded(5);
        const losses: number[] = [];
        for (let s = 0; s < 12; s++) {
          // a learnable pattern: next token = (token + 1) mod V
          const rows = Array.from({ length: 8 }, () => {
            const start = rng.int(0, TINY.vocab - 1);
            return Array.from({ length: 11 }, (_, t) => (start + t) % TINY.vocab);
          });
          const inp = tf.tensor2d(rows.map((r) => r.slice(0, 10)), [8, 10], 'int32');
          const tgt = tf.tensor2d(rows.map((r) => r.slice(1)), [8, 10], 'int32');
          const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogProbsAndEntropy(m, inp, tgt, 1).logp)) as tf.Scalar, m.params);
          losses.push(value.dataSync()[0]);
          opt.step(grads, 1e-2);
          tf.dispose([value, grads, inp, tgt]);
        }
        const w = getWeights(m);
        opt.dispose();
        disposeModel(m);
        return { w, losses };
      };
      const a = train();
      const b = train();
      assert.ok(a.w.every((x, i) => sameBits(x, b.w[i])), 'weights differ between two runs from the same seed');
      assert.deepEqual(a.losses, b.losses);
      assert.ok(a.losses[11] < a.losses[0] - 0.3, `loss should fall: ${a.losses[0]} -> ${a.losses[11]}`);
    });
  }
});
