import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/nn/backend.ts';
import { kernels } from '../../src/nn/wasm/runtime.ts';
import {
  createDecoder,
  createModel,
  disposeModel,
  forwardLogits,
  initialWeights,
  paramSpecs,
  score,
  type Model,
  type ModelConfig,
} from '../../src/nn/model/index.ts';
import { generate, sampleIndex, type GenerateOptions } from '../../src/nn/sampling.ts';
import { Rng } from '../../src/util/rng.ts';
import { useBackend } from '../helpers/backend.ts';

const CFG: ModelConfig = { vocab: 13, context: 24, d_model: 16, heads: 2, layers: 2, mlp_ratio: 4 };
const EOS = 12;
const PROMPTS = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [2], [3, 3, 3, 3], [7, 1]];

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}


/** a random model whose head bias makes `token` likely by `bias` nats */
function modelFavouring(seed: number, token: number | null, bias = 0): Model {
  const w = initialWeights(CFG, seed);
  const hb = paramSpecs(CFG).findIndex((s) => s.name === 'head.b');
  if (token !== null) w[hb][token] = bias;
  return createModel(CFG, seed, w);
}

/** generation with no cache: the full forward over the whole sequence for every token, drawing like generate() */
function naiveGenerate(model: Model, prompts: number[][], o: GenerateOptions): number[][] {
  const V = model.config.vocab;
  const out: number[][] = prompts.map(() => []);
  const budget = prompts.map((p) => Math.min(o.maxNewTokens, model.config.context - p.length));
  const active = budget.map((n) => n > 0);
  for (let s = 0; s < o.maxNewTokens && active.some(Boolean); s++) {
    for (let b = 0; b < prompts.length; b++) {
      if (!active[b]) continue;
      const seq = [...prompts[b], ...out[b]];
      const lp = tf.tidy(() =>
        tf.logSoftmax(
          forwardLogits(model, tf.tensor2d([seq], [1, seq.length], 'int32'))
            .slice([0, seq.length - 1, 0], [1, 1, V])
            .reshape([1, V])
            .div(o.temperature),
        ),
      );
      const j = sampleIndex(lp.dataSync() as Float32Array, 0, V, o.topP, o.rng.float());
      lp.dispose();
      out[b].push(j);
      if (j === o.eos || out[b].length >= budget[b]) active[b] = false;
    }
  }
  return out;
}

describe('nn/sampling', () => {
  useBackend('wasm');

  for (const engine of ['fast', 'generic'] as const) {
    it(`${engine}: KV-cache generation equals naive (no cache) generation token for token, same Rng seed`, function () {
      if (engine === 'fast' && !kernels()) this.skip();
      const m = modelFavouring(5, null);
      m.engine = engine;
      for (const [temperature, topP] of [
        [1, 1],
        [0.7, 0.9],
      ]) {
        const o = { temperature, topP, maxNewTokens: 10, eos: EOS };
        const cached = generate(m, PROMPTS, { ...o, rng: Rng.seeded(11) });
        const naive = naiveGenerate(m, PROMPTS, { ...o, rng: Rng.seeded(11) });
        assert.deepEqual(
          cached.map((g) => g.tokens),
          naive,
        );
        assert.ok(cached.some((g) => g.tokens.length > 3), 'some rows generate several tokens');
      }
      disposeModel(m);
    });

    it(`${engine}: the log-probs and entropies recorded at sampling time are those of scoring the sequences`, function () {
      if (engine === 'fast' && !kernels()) this.skip();
      const m = modelFavouring(6, null);
      m.engine = engine;
      const gens = generate(m, PROMPTS, { temperature: 0.8, topP: 0.95, maxNewTokens: 12, eos: EOS, rng: Rng.seeded(3) });
      const seqs = PROMPTS.map((p, i) => [...p, ...gens[i].tokens]);
      const sc = score(m, seqs, 0.8);
      let n = 0;
      gens.forEach((g, i) => {
        const at = PROMPTS[i].length - 1; // the position that predicts the first response token
        const lp = sc.logp[i].slice(at, at + g.tokens.length);
        const en = sc.entropy[i].slice(at, at + g.tokens.length);
        assert.equal(g.logp.length, g.tokens.length);
        assert.equal(g.entropy.length, g.tokens.length);
        if (engine === 'fast') {
          // the same kernels and the same order of every sum: the same bits (SPEC 3, N = 1)
          assert.ok(sameBits(g.logp, lp), `row ${i} logp`);
          assert.ok(sameBits(g.entropy, en), `row ${i} entropy`);
        } else {
          g.logp.forEach((v, t) => assert.ok(Math.abs(v - lp[t]) < 1e-5));
          g.entropy.forEach((v, t) => assert.ok(Math.abs(v - en[t]) < 1e-5));
        }
        g.logp.forEach((v) => assert.ok(v <= 0 && Number.isFinite(v)));
        n += g.tokens.length;
      });
      assert.ok(n > 20);
      disposeModel(m);
    });
  }

  it('is deterministic for a seed, and another seed draws differently', () => {
    const m = modelFavouring(7, null);
    const o = { temperature: 1, topP: 1, maxNewTokens: 8, eos: EOS };
    const a = generate(m, PROMPTS, { ...o, rng: Rng.seeded(1) });
    const b = generate(m, PROMPTS, { ...o, rng: Rng.seeded(1) });
    const c = generate(m, PROMPTS, { ...o, rng: Rng.seeded(2) });
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((g) => g.tokens),
      c.map((g) => g.tokens),
    );
    // the Rng advanced by exactly one draw per sampled token
    const r = Rng.seeded(1);
    generate(m, PROMPTS, { ...o, rng: r });
    const r2 = Rng.seeded(1);
    for (let i = 0; i < a.reduce((s, g) => s + g.tokens.length, 0); i++) r2.float();
    assert.deepEqual(r.state(), r2.state());
    disposeModel(m);
  });

  it('stops a row at EOS (kept in its tokens) and marks it finished; budgets and text', () => {
    const m = modelFavouring(8, EOS, 30); // EOS all but certain
    const gens = generate(m, PROMPTS, {
      temperature: 1,
      topP: 1,
      maxNewTokens: 5,
      eos: EOS,
      rng: Rng.seeded(4),
      decode: (t) => t.map((x) => String.fromCharCode(97 + x)).join(''),
    });
    for (const g of gens) {
      assert.deepEqual(g.tokens, [EOS]);
      assert.equal(g.finished, true);
      assert.equal(g.text, 'm');
      assert.ok(g.logp[0] > -1e-6);
    }
    disposeModel(m);
    const m2 = modelFavouring(8, 0, 30); // never EOS
    const long = [Array.from({ length: CFG.context - 2 }, () => 1), [1, 2]];
    const g2 = generate(m2, long, { temperature: 1, topP: 1, maxNewTokens: 6, eos: EOS, rng: Rng.seeded(4) });
    assert.equal(g2[0].tokens.length, 2, 'a row stops where the context ends');
    assert.equal(g2[1].tokens.length, 6, 'another row in the same batch keeps its own budget');
    assert.ok(g2.every((g) => !g.finished && g.text === ''));
    const g3 = generate(m2, [[1, 2]], { temperature: 1, topP: 1, maxNewTokens: 0, eos: EOS, rng: Rng.seeded(4) });
    assert.deepEqual(g3[0].tokens, []);
    assert.throws(() => generate(m2, [[]], { temperature: 1, topP: 1, maxNewTokens: 2, eos: EOS, rng: Rng.seeded(4) }), /empty/);
    assert.throws(() => generate(m2, [[1]], { temperature: 1, topP: 0, maxNewTokens: 2, eos: EOS, rng: Rng.seeded(4) }), /top_p/);
    assert.throws(() => generate(m2, [[1]], { temperature: 0, topP: 1, maxNewTokens: 2, eos: EOS, rng: Rng.seeded(4) }), /temperature/);
    disposeModel(m2);
  });

  it('sampleIndex: frequencies follow the probabilities; top-p keeps the smallest nucleus', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const lp = Float32Array.from([9, ...p.map(Math.log)]); // offset 1
    const rng = Rng.seeded(9);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleIndex(lp, 1, 4, 1, rng.float())]++;
    counts.forEach((c, j) => assert.ok(Math.abs(c / n - p[j]) < 0.015, `token ${j}: ${c / n} vs ${p[j]}`));
    // top-p 0.75: {0, 1} (mass 0.8) renormalised to 0.625 / 0.375
    const c2 = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) c2[sampleIndex(lp, 1, 4, 0.75, rng.float())]++;
    assert.equal(c2[2] + c2[3], 0);
    assert.ok(Math.abs(c2[0] / n - 0.625) < 0.015);
    // a tiny top-p is greedy; u at the edges stays in range
    assert.equal(sampleIndex(lp, 1, 4, 1e-6, 0.999), 0);
    assert.equal(sampleIndex(lp, 1, 4, 1, 0), 0);
    assert.equal(sampleIndex(lp, 1, 4, 1, 0.9999999), 3);
  });

  it('decoder keep(): the kept rows decode on as if no row had been dropped (bit for bit on the fast path)', () => {
    const m = modelFavouring(12, null);
    for (const engine of ['fast', 'generic'] as const) {
      if (engine === 'fast' && !kernels()) continue;
      m.engine = engine;
      const B = 5;
      const Tp = 4;
      const offsets = Int32Array.from([0, 2, 1, 3, 0]);
      const tok = Int32Array.from({ length: B * Tp }, (_, i) => 1 + (i % 7));
      const all = createDecoder(m, B, 0.9, 16);
      const some = createDecoder(m, B, 0.9, 16);
      all.prefill(tok, Tp, offsets);
      some.prefill(tok, Tp, offsets);
      const feed = (s: number, rows: number[]) => Int32Array.from(rows, (b) => 1 + ((b * 3 + s) % 11));
      let kept = [0, 1, 2, 3, 4];
      for (let s = 0; s < 8; s++) {
        if (s === 2) kept = [0, 2, 3, 4];
        if (s === 5) kept = [2, 4];
        if (s === 2 || s === 5) {
          some.keep(s === 2 ? [0, 2, 3, 4] : [1, 3]);
          assert.equal(some.rows, kept.length);
        }
        const a = all.step(feed(s, [0, 1, 2, 3, 4]));
        const b = some.step(feed(s, kept));
        const V = CFG.vocab;
        kept.forEach((row, r) => {
          const x = a.logprobs.slice(row * V, (row + 1) * V);
          const y = b.logprobs.slice(r * V, (r + 1) * V);
          if (engine === 'fast') assert.ok(sameBits(x, y) && Object.is(a.entropy[row], b.entropy[r]), `step ${s}, row ${row}`);
          else assert.ok(x.every((v, j) => Math.abs(v - y[j]) < 1e-5), `step ${s}, row ${row}`);
        });
      }
      assert.throws(() => some.keep([1, 0]), /ascending/);
      assert.throws(() => some.keep([2]), /below 2/);
      all.dispose();
      some.dispose();
    }
    m.engine = 'auto';
    disposeModel(m);
  });

  it('the decoder rejects misuse and both engines leak no tensors', () => {
    const m = modelFavouring(10, null);
    for (const engine of ['fast', 'generic'] as const) {
      if (engine === 'fast' && !kernels()) continue;
      m.engine = engine;
      const d = createDecoder(m, 2, 1, 8);
      assert.throws(() => d.step(Int32Array.from([1, 2])), /before prefill/);
      assert.throws(() => d.prefill(Int32Array.from([1, 2, 3]), 2, new Int32Array(2)), /tokens/);
      d.prefill(Int32Array.from([1, 2, 3, 4]), 2, new Int32Array(2));
      for (let i = 0; i < 6; i++) d.step(Int32Array.from([1, 2]));
      assert.throws(() => d.step(Int32Array.from([1, 2])), /full/);
      d.dispose();
      const o = { temperature: 1, topP: 0.9, maxNewTokens: 6, eos: EOS, rng: Rng.seeded(1) };
      generate(m, PROMPTS, o);
      const n0 = tf.memory().numTensors;
      const b0 = tf.memory().numBytes;
      for (let i = 0; i < 3; i++) generate(m, PROMPTS, o);
      assert.equal(tf.memory().numTensors, n0, engine);
      assert.equal(tf.memory().numBytes, b0, engine);
    }
    disposeModel(m);
  });
});
