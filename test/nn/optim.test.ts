import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../../src/config/job.ts';
import { useBackend } from '../helpers/backend.ts';
import { AdamW, lrAt } from '../../src/nn/optim.ts';
import { kernels } from '../../src/nn/wasm/runtime.ts';

const BASE: OptimizerConfig = {
  name: 'adamw',
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weight_decay: 0.1,
  grad_clip: null,
  schedule: 'constant',
  warmup_steps: 0,
  min_lr_ratio: 0.1,
};

function close(a: ArrayLike<number>, b: readonly number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`nn/optim (${backend})`, () => {
    useBackend(backend);

    it('AdamW: two steps on a tiny parameter match hand-computed values', () => {
      // By hand (float64), PyTorch's AdamW: p <- p (1 - lr wd); m, v moments;
      // p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
      // step 1, g = [0.5, -0.25]: decayed [0.99, -1.98]; m = [0.05, -0.025];
      //   v = [2.5e-4, 6.25e-5]; m / bc1 = [0.5, -0.25], sqrt(v / bc2) = [0.5, 0.25]
      //   -> p = [0.99 - 0.1 * 0.5 / (0.5 + 1e-8), -1.98 + 0.1 * 0.25 / (0.25 + 1e-8)]
      //        = [0.890000002, -1.880000004]
      // step 2, g = [-0.3, 0.2]: m = [0.015, -0.0025]; v = [3.3975e-4, 1.024375e-4];
      //   bc1 = 0.19, bc2 = 0.001999 -> p = [0.86195019892, -1.85538749949]
      const p = tf.variable(tf.tensor1d([1, -2]));
      const opt = new AdamW([p], BASE);
      const n1 = opt.step([tf.tensor1d([0.5, -0.25])], 0.1);
      assert.ok(Math.abs(n1 - Math.sqrt(0.25 + 0.0625)) < 1e-6, 'the returned norm');
      close(p.dataSync(), [0.890000002, -1.880000004], 2e-7, 'p after step 1');
      const st1 = opt.state();
      close(st1.m[0], [0.05, -0.025], 1e-8, 'm1');
      close(st1.v[0], [2.5e-4, 6.25e-5], 1e-10, 'v1');
      opt.step([tf.tensor1d([-0.3, 0.2])], 0.1);
      close(p.dataSync(), [0.8619501989217752, -1.8553874994866317], 3e-7, 'p after step 2');
      const st2 = opt.state();
      assert.equal(st2.step, 2);
      close(st2.m[0], [0.015, -0.0025], 1e-8, 'm2');
      close(st2.v[0], [3.3975e-4, 1.024375e-4], 1e-10, 'v2');
      opt.dispose();
      p.dispose();
    });

    it('global-norm clipping scales the gradients and returns the norm before clipping', () => {
      const a = tf.variable(tf.tensor1d([0, 0]));
      const b = tf.variable(tf.tensor1d([0]));
      const opt = new AdamW([a, b], { ...BASE, weight_decay: 0, grad_clip: 0.1 });
      // global norm of [0.3, 0] and [0.4] is 0.5; scale 0.1 / (0.5 + 1e-6)
      const n = opt.step({ [a.name]: tf.tensor1d([0.3, 0]), [b.name]: tf.tensor1d([0.4]) }, 0.1);
      assert.ok(Math.abs(n - 0.5) < 1e-6);
      const s = 0.1 / (0.5 + 1e-6);
      const st = opt.state();
      close(st.m[0], [0.1 * 0.3 * s, 0], 1e-8, 'm of a');
      close(st.m[1], [0.1 * 0.4 * s], 1e-8, 'm of b');
      close(st.v[1], [0.001 * (0.4 * s) ** 2], 1e-11, 'v of b');
      // under the threshold nothing is scaled
      const opt2 = new AdamW([b], { ...BASE, weight_decay: 0, grad_clip: 10 });
      opt2.step([tf.tensor1d([0.4])], 0.1);
      close(opt2.state().m[0], [0.04], 1e-8, 'unclipped m');
      tf.dispose([a, b]);
      opt.dispose();
      opt2.dispose();
    });

    it('a parameter without a gradient is left alone; wrong gradient counts are refused', () => {
      const a = tf.variable(tf.tensor1d([1, 2]));
      const b = tf.variable(tf.tensor1d([3]));
      const opt = new AdamW([a, b], BASE);
      opt.step({ [a.name]: tf.tensor1d([1, 1]) }, 0.1);
      assert.deepEqual(Array.from(b.dataSync()), [3]);
      assert.deepEqual(Array.from(opt.state().m[1]), [0]);
      assert.notDeepEqual(Array.from(a.dataSync()), [1, 2]);
      assert.throws(() => opt.step([tf.tensor1d([1, 1])], 0.1), /expected 2 gradients/);
      tf.dispose([a, b]);
      opt.dispose();
    });

    if (backend === 'wasm')
      it("rlgrid's AdamW kernel gives the tfjs ops' results bit for bit (clipping, decay, odd sizes, a missing gradient)", () => {
        assert.ok(kernels(), 'the wasm backend has the SIMD kernels');
        const shapes = [[7], [3, 5], [64], [2, 2]];
        let seed = 5;
        const rnd = () => {
          seed = (seed * 1103515245 + 12345) >>> 0;
          return seed / 2 ** 32 - 0.5;
        };
        // gradients over many magnitudes, the same for both runs
        const grads = [0, 1, 2, 3, 4].map((s) => shapes.map((sh) => Array.from({ length: sh.reduce((x, y) => x * y, 1) }, () => rnd() * 10 ** ((s % 3) * 2 - 3))));
        const init = shapes.map((sh) => Array.from({ length: sh.reduce((x, y) => x * y, 1) }, () => rnd()));
        const run = (engine: 'auto' | 'generic', cfg: OptimizerConfig) => {
          const ps = tf.tidy(() => shapes.map((sh, i) => tf.variable(tf.tensor(init[i], sh))));
          const opt = new AdamW(ps, cfg, engine);
          const norms: number[] = [];
          grads.forEach((gl, s) => {
            const gt = gl.map((g, i) => tf.tensor(g, shapes[i]));
            const named = Object.fromEntries(ps.map((p, i) => [p.name, gt[i]]).filter((_, i) => !(s === 2 && i === 1)));
            norms.push(opt.step(named, lrAt(s + 1, { ...cfg, schedule: 'cosine', warmup_steps: 2 }, 5)));
            tf.dispose(gt);
          });
          const st = opt.state();
          const out = [...ps.map((p) => p.dataSync() as Float32Array), ...st.m, ...st.v];
          opt.dispose();
          tf.dispose(ps);
          return { out: out.map((a) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)))), norms };
        };
        for (const cfg of [BASE, { ...BASE, grad_clip: 0.5, weight_decay: 0 }, { ...BASE, beta1: 0.8, beta2: 0.95, eps: 1e-6, grad_clip: 1 }]) {
          const n0 = tf.memory().numTensors;
          const fused = run('auto', cfg);
          assert.equal(tf.memory().numTensors, n0, 'no tensor leaks');
          assert.deepEqual(fused, run('generic', cfg));
        }
      });

    it('state() / setState() continue bit for bit, and nothing leaks', () => {
      const grads = [0.3, -0.7, 0.11, 0.5].map((g) => [tf.tensor2d([[g, -g], [2 * g, 0.5]])]);
      const run = (split: boolean) => {
        const p = tf.tidy(() => tf.variable(tf.tensor2d([[1, 2], [3, 4]])));
        let opt = new AdamW([p], { ...BASE, grad_clip: 0.5 });
        for (let i = 0; i < 4; i++) {
          if (split && i === 2) {
            const st = opt.state();
            const w = p.dataSync().slice();
            opt.dispose();
            tf.tidy(() => p.assign(tf.tensor2d(Array.from(w), [2, 2])));
            opt = new AdamW([p], { ...BASE, grad_clip: 0.5 });
            opt.setState(st);
          }
          opt.step(grads[i], 0.05);
        }
        const out = p.dataSync().slice() as Float32Array;
        opt.dispose();
        p.dispose();
        return out;
      };
      run(false);
      const n0 = tf.memory().numTensors;
      const a = run(false);
      const b = run(true);
      assert.equal(tf.memory().numTensors, n0);
      assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(b.buffer));
      const p = tf.variable(tf.zeros([2]));
      const opt = new AdamW([p], BASE);
      assert.throws(() => opt.setState({ step: 1, m: [new Float32Array(3)], v: [new Float32Array(3)] }), /wrong size/);
      opt.dispose();
      p.dispose();
      tf.dispose(grads.flat());
    });
  });
}

describe('nn/optim lrAt', () => {
  it('constant, with linear warmup', () => {
    const c = { ...BASE, lr: 1, warmup_steps: 4 };
    assert.deepEqual([1, 2, 3, 4, 5, 100].map((s) => lrAt(s, c, 100)), [0.25, 0.5, 0.75, 1, 1, 1]);
    assert.equal(lrAt(7, { ...BASE, lr: 3e-4 }, 10), 3e-4);
  });

  it('cosine from lr after warmup down to lr * min_lr_ratio at the last step', () => {
    const c: OptimizerConfig = { ...BASE, lr: 2, schedule: 'cosine', warmup_steps: 10, min_lr_ratio: 0.1 };
    assert.equal(lrAt(5, c, 110), 1);
    assert.equal(lrAt(10, c, 110), 2);
    assert.ok(Math.abs(lrAt(60, c, 110) - 2 * (0.1 + 0.9 * 0.5)) < 1e-12, 'half way: the mean of lr and the floor');
    assert.ok(Math.abs(lrAt(110, c, 110) - 0.2) < 1e-12);
    assert.ok(Math.abs(lrAt(200, c, 110) - 0.2) < 1e-12, 'stays at the floor');
    let prev = Infinity;
    for (let s = 10; s <= 110; s++) {
      const v = lrAt(s, c, 110);
      assert.ok(v <= prev);
      prev = v;
    }
    assert.ok(Math.abs(lrAt(1, { ...c, warmup_steps: 0 }, 100) - 2 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 100)))) < 1e-12);
  });
});
