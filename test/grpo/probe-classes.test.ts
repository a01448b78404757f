// Probe entropy split by position class (eval.jsonl's probe_entropy_by_class):
// a world that names its positions (phrase) gets each class's mean token
// entropy of the very responses behind probe_entropy; a world that does not
// (arith) gets none.
import assert from 'node:assert/strict';
import { useBackend } from '../helpers/backend.ts';
import { DEFAULT_JOB } from '../../src/config/job.ts';
import { probeEntropy } from '../../src/grpo/evaluate.ts';
import { sampleAll } from '../../src/grpo/rollout.ts';
import { worldStats } from '../../src/grpo/world-stats.ts';
import { probePrompts } from '../../src/grpo/trainer.ts';
import { loadModel } from '../../src/grpo/state.ts';
import { disposeModel } from '../../src/nn/model/index.ts';
import { getTaskWorld, type TaskWorld } from '../../src/tasks/index.ts';
import { Rng } from '../../src/util/rng.ts';

describe('grpo/evaluate: probe entropy by position class', function () {
  this.timeout(120_000);
  useBackend('wasm');

  it('phrase: a mean per class, between which the overall probe entropy lies; the separators are the least sure', () => {
    const { model } = loadModel('models/phrase');
    const world = getTaskWorld('phrase');
    const probe = probePrompts(world, 16);
    const pe = probeEntropy(model, world, probe, DEFAULT_JOB, Rng.seeded(7));
    // the same draws, each response classed against its own problem (4 samples per prompt, prompt-major)
    const gens = sampleAll(model, world, probe, 4, DEFAULT_JOB.rollout, Rng.seeded(7));
    const own = worldStats(world, gens.map((gen, i) => ({ problem: probe[Math.floor(i / 4)], gen, reward: 0 })));
    const tagged: TaskWorld = { ...world, positionClasses: (p, text) => Array.from({ length: text.length + 1 }, () => p.id) };
    const byProblem = probeEntropy(model, tagged, probe, DEFAULT_JOB, Rng.seeded(7));
    disposeModel(model);
    assert.deepEqual(pe.byClass, own.entropyMean);
    assert.deepEqual(Object.keys(pe.byClass!).sort(), ['fork', 'lit', 'neutral']);
    const means = Object.values(pe.byClass!);
    assert.ok(Math.min(...means) <= pe.entropy && pe.entropy <= Math.max(...means), JSON.stringify(pe));
    assert.ok(pe.byClass!.neutral > pe.byClass!.fork && pe.byClass!.neutral > pe.byClass!.lit, JSON.stringify(pe.byClass));
    // the same draws: classing by problem id gives one class per probe prompt
    assert.equal(byProblem.entropy, pe.entropy);
    assert.deepEqual(Object.keys(byProblem.byClass!).sort(), probe.map((p) => p.id).sort());
  });

  it('arith names no position classes: no split', () => {
    const { model } = loadModel('models/base');
    const world = getTaskWorld('arith');
    const pe = probeEntropy(model, world, probePrompts(world, 4), DEFAULT_JOB, Rng.seeded(7));
    disposeModel(model);
    assert.equal(pe.byClass, undefined);
    assert.ok(pe.entropy > 0);
  });
});
