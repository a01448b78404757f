import assert from 'node:assert/strict';
import { EpochSampler, epochOfStep, totalEpochs } from '../../src/data/sampler.ts';

const IDS = ['a', 'b', 'c', 'd', 'e'];

describe('data/sampler', () => {
  it('walks shuffled epochs; a batch crossing the end continues into the next epoch', () => {
    const s = new EpochSampler(IDS, { batchSize: 2, seed: 3 });
    const e1 = s.epochOrder(1);
    const e2 = s.epochOrder(2);
    const e3 = s.epochOrder(3);
    for (const e of [e1, e2, e3]) assert.deepEqual(e.slice().sort(), IDS); // a permutation
    assert.notDeepEqual(e1, e2);
    const stream = [...e1, ...e2, ...e3];
    const batches = Array.from({ length: 7 }, () => s.next());
    assert.deepEqual(
      batches.map((b) => b.ids),
      [0, 2, 4, 6, 8, 10, 12].map((i) => stream.slice(i, i + 2)),
    );
    // batch 2 holds e1[4] and e2[0]: epoch of its last prompt = 2
    assert.deepEqual(
      batches.map((b) => b.epoch),
      [1, 1, 2, 2, 2, 3, 3],
    );
    assert.deepEqual(
      batches.map((b) => b.step),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.equal(s.epoch, 3);
    assert.equal(s.drawn, 14);
  });

  it('E = ceil(steps * B / size) is the epoch of the last step', () => {
    assert.equal(totalEpochs(5, 2, 5), 2);
    assert.equal(totalEpochs(6, 2, 5), 3);
    assert.equal(totalEpochs(3, 4, 10), 2); // 12 prompts: the last batch ends in epoch 2
    assert.equal(totalEpochs(0, 4, 10), 0);
    for (const [B, size] of [
      [2, 5],
      [4, 10],
      [32, 1000],
      [7, 3],
    ]) {
      for (let steps = 1; steps <= 40; steps++) assert.equal(epochOfStep(steps - 1, B, size), totalEpochs(steps, B, size));
    }
    const s = new EpochSampler(IDS, { batchSize: 2, seed: 1 });
    assert.equal(s.totalEpochs(6), 3);
    assert.equal(s.epoch, 1);
    assert.throws(() => totalEpochs(1, 0, 5), RangeError);
  });

  it('batches larger than the subset span several epochs', () => {
    const s = new EpochSampler(['x', 'y', 'z'], { batchSize: 7, seed: 2 });
    const b = s.next();
    assert.deepEqual(b.ids, [...s.epochOrder(1), ...s.epochOrder(2), s.epochOrder(3)[0]]);
    assert.equal(b.epoch, 3);
  });

  it('resuming from a saved state reproduces the uninterrupted sequence', () => {
    const ids = Array.from({ length: 37 }, (_, i) => i * 10);
    const straight = new EpochSampler(ids, { batchSize: 8, seed: 11 });
    const want = Array.from({ length: 20 }, () => straight.next());
    const first = new EpochSampler(ids, { batchSize: 8, seed: 11 });
    const got = Array.from({ length: 7 }, () => first.next());
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = EpochSampler.fromState(ids, saved);
    assert.equal(resumed.epoch, first.epoch);
    for (let i = 7; i < 20; i++) got.push(resumed.next());
    assert.deepEqual(got, want);
    assert.deepEqual(resumed.state(), straight.state());
  });

  it('is seeded; refuses a state from another subset', () => {
    const a = new EpochSampler(IDS, { batchSize: 5, seed: 1 }).next().ids;
    assert.deepEqual(new EpochSampler(IDS, { batchSize: 5, seed: 1 }).next().ids, a);
    assert.notDeepEqual(new EpochSampler(IDS, { batchSize: 5, seed: 2 }).next().ids, a);
    const st = new EpochSampler(IDS, { batchSize: 2, seed: 1 }).state();
    assert.throws(() => EpochSampler.fromState(['a', 'b', 'c', 'd', 'f'], st), /different subset/);
    assert.throws(() => new EpochSampler([], { batchSize: 1, seed: 1 }), RangeError);
  });
});
