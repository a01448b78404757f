// The mechanism suite (issue #19's checks over seeds) on the real trainer, at
// a small shape: intervals come from the arms, on-policy clipping variants
// cannot differ, and the world statistics split entropy by position class.
import assert from 'node:assert/strict';
import { useBackend } from '../helpers/backend.ts';
import { DEFAULT_SUITE, mechanismSuite, tInterval } from '../../src/grpo/mechanism.ts';
import { disposeModel } from '../../src/nn/model/index.ts';
import { worldStats } from '../../src/grpo/world-stats.ts';
import type { Generation } from '../../src/nn/sampling.ts';
import { loadModel } from '../../src/grpo/state.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';

describe('grpo/mechanism suite', function () {
  this.timeout(300_000);
  useBackend('wasm');

  it('tInterval: mean and the 95% Student t half-width (hand-computed)', () => {
    const i = tInterval([1, 2, 3]);
    // sd 1, t(0.975, 2) = 4.302653
    assert.equal(i.mean, 2);
    assert.ok(Math.abs(i.hi - 2 - 4.302653 / Math.sqrt(3)) < 1e-5, String(i.hi));
    assert.ok(Math.abs(i.mean - i.lo - (i.hi - i.mean)) < 1e-12);
    assert.ok(Number.isNaN(tInterval([1]).lo));
  });

  it('runs every arm per seed; on-policy (N = 1) Clip-Higher equals default clipping bit for bit', () => {
    const { model } = loadModel('models/base');
    const world = getTaskWorld('arith');
    const r = mechanismSuite(model, world, { ...DEFAULT_SUITE, prompts: 4, group: 4, updates: 1, signSteps: 2, clipSteps: 2, probePrompts: 8, seeds: [1, 2] });
    disposeModel(model);
    assert.deepEqual(Object.keys(r.before), ['all']);
    for (const arms of [r.negativeOnly, r.positiveOnly, r.clipDefault, r.clipHigher]) assert.deepEqual(arms.map((a) => a.seed), [1, 2]);
    assert.deepEqual(r.clipHigher.map((a) => a.delta.all), r.clipDefault.map((a) => a.delta.all));
    assert.deepEqual(r.clipDefault.map((a) => a.upperClippedPerStep), [0, 0]);
    assert.equal(r.summary.clipHigherMinusDefault!.mean, 0);
    // the summary is the arms' own numbers
    assert.equal(r.summary.negativeOnly.mean, (r.negativeOnly[0].delta.all + r.negativeOnly[1].delta.all) / 2);
    assert.ok(r.negativeOnly.some((a) => a.delta.all !== 0), 'the A<0-only arm moved the model');
    assert.notDeepEqual(r.negativeOnly.map((a) => a.delta.all), r.positiveOnly.map((a) => a.delta.all));
  });

  it('world statistics split entropy by position class and count rare tokens of correct responses', () => {
    const w = getTaskWorld('phrase');
    const p = w.train.find((q) => q.family === 'add' && q.prompt.length === 5)!;
    const text = p.solution;
    const cls = w.positionClasses!(p, text);
    const n = text.length + 1;
    // entropy 1 at neutral positions, 0.5 at forks, 0 elsewhere; probability 0.1 at neutral positions
    const entropy = Float32Array.from(cls.slice(0, n), (c) => (c === 'neutral' ? 1 : c === 'fork' ? 0.5 : 0));
    const logp = Float32Array.from(cls.slice(0, n), (c) => (c === 'neutral' ? Math.log(0.1) : 0));
    const gen: Generation = { tokens: [...w.tokenizer.encode(text), w.tokenizer.eos], logp, entropy, finished: true, text };
    const s = worldStats(w, [{ problem: p, gen, reward: 1 }]);
    const nNeutral = cls.filter((c) => c === 'neutral').length;
    const nFork = cls.filter((c) => c === 'fork').length;
    assert.ok(Math.abs(s.entropyShare.neutral - nNeutral / (nNeutral + 0.5 * nFork)) < 1e-6);
    assert.equal(s.entropyMean.neutral, 1);
    assert.ok(Math.abs(s.tokenShare.fork - nFork / n) < 1e-12);
    assert.ok(Math.abs(s.rareTokensPerCorrectResponse - nNeutral) < 1e-12);
    assert.ok(Math.abs(s.rareTokenMeanProb - 0.1) < 1e-6);
    // every separator of the reference solution is its context's mode: one symbol each
    const seps = new Set(cls.flatMap((c, i) => (c === 'neutral' ? [text[i]] : [])));
    const hm = -[...seps].reduce((a, sym) => {
      const k = cls.filter((c, i) => c === 'neutral' && text[i] === sym).length / nNeutral;
      return a + k * Math.log(k);
    }, 0);
    assert.ok(Math.abs(s.neutralMarginalEntropy - hm) < 1e-12);
    assert.ok(Math.abs(s.neutralContextInformation - (hm - 1)) < 1e-9);
  });
});
