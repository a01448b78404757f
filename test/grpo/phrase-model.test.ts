// models/phrase, world v2's base model (docs/task-world.md): it fits its
// world, and its stored report carries issue #19's suite over 3 seeds with the
// checks computed from the arms' own numbers.
import assert from 'node:assert/strict';
import { useBackend } from '../helpers/backend.ts';
import { disposeModel } from '../../src/nn/model/index.ts';
import { type BaseReport, SUITE_BY_WORLD, suiteChecks } from '../../src/grpo/pretrain.ts';
import { tInterval } from '../../src/grpo/mechanism.ts';
import { loadModel } from '../../src/grpo/state.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';

describe('models/phrase (world v2 base model)', () => {
  useBackend('wasm');

  it('fits the phrase world and stores the suite: 3 seeds per arm, summary and checks from the arms', () => {
    const { model, meta } = loadModel('models/phrase');
    const world = getTaskWorld('phrase');
    assert.equal(model.config.vocab, world.tokenizer.size);
    assert.ok(model.config.context >= 1 + world.maxPromptTokens + world.maxResponseTokens);
    disposeModel(model);
    assert.deepEqual(meta.task, { name: 'phrase', version: world.version });
    const r = meta.report as BaseReport;
    const s = r.suite!;
    assert.deepEqual(s.options, SUITE_BY_WORLD.phrase);
    for (const arm of [s.negativeOnly, s.positiveOnly, s.clipDefault, s.clipHigher]) assert.deepEqual(arm.map((a) => a.seed), [1, 2, 3]);
    assert.deepEqual(s.summary.negativeOnly, tInterval(s.negativeOnly.map((a) => a.delta.all)));
    assert.deepEqual(s.summary.clipHigherMinusDefault, tInterval(s.clipHigher.map((a, i) => a.delta.all - s.clipDefault[i].delta.all)));
    assert.deepEqual(Object.keys(s.before).sort(), ['all', 'fork', 'lit', 'neutral']);
    assert.deepEqual(r.checks.slice(-3), suiteChecks(s));
    // the world statistics split all of the entropy
    const shares = Object.values(r.world!.entropyShare).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(shares - 1) < 1e-9);
  });
});
