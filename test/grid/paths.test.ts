// Field paths in messages, did-you-mean, and which names and labels are safe.
import assert from 'node:assert/strict';
import { displayPath, didYouMean, editDistance, labelProblem, nameProblem } from '../../src/grid/paths.ts';

describe('paths and names', () => {
  it('prints raw paths with quoted non-identifiers, list indices and split patch keys', () => {
    assert.equal(displayPath(['axes', 'method', 'Clip-Higher', 'train.clip', 'high']), 'axes.method."Clip-Higher".train.clip.high');
    assert.equal(displayPath(['axes', 'train.updates_per_batch', 2]), 'axes."train.updates_per_batch"[2]');
    assert.equal(displayPath(['base', 'train.clip.high']), 'base.train.clip.high');
    assert.equal(displayPath(['include', 0, 'patch', 'eval.k']), 'include[0].patch.eval.k');
    assert.equal(displayPath(['include', 0, 'labels', 'eval.k']), 'include[0].labels."eval.k"');
    assert.equal(displayPath(['claims', 1, 'expect', 'than', 'method']), 'claims[1].expect.than.method');
    assert.equal(displayPath(['axes', 'method', 'A>=0 only']), 'axes.method."A>=0 only"');
    assert.equal(displayPath([]), '');
  });

  it('suggests close keys (transpositions count once) and bare keys of dotted paths', () => {
    assert.equal(editDistance('hihg', 'high'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(didYouMean('hihg', ['low', 'high', 'dual']), 'high');
    assert.equal(didYouMean('Seed', ['seed', 'steps']), 'seed');
    assert.equal(didYouMean('lr', ['train.steps', 'train.optimizer.lr']), 'train.optimizer.lr');
    assert.equal(didYouMean('xyz', ['low', 'high']), undefined);
    assert.equal(didYouMean('ab', ['xy']), undefined);
  });

  it('accepts the study’s row names as labels and rejects unsafe ones', () => {
    for (const ok of ['GRPO', 'GRPO N=4', 'A>=0 only', 'A<=0 only', 'Pos-Adv-Reweight (Entropy-guided)', 'Ada-Ent-Reg (target 0.12)', 'lr=3e-4,N+2', '50%', 'v1.2_x'])
      assert.equal(labelProblem(ok), undefined, ok);
    assert.match(labelProblem('a/b')!, /character "\/" is not allowed/);
    assert.match(labelProblem('a\\b')!, /character "\\\\" is not allowed/);
    assert.match(labelProblem('..')!, /must not contain "\.\."/);
    assert.match(labelProblem('a..b')!, /must not contain "\.\."/);
    assert.match(labelProblem('.x')!, /must not start/);
    assert.match(labelProblem('-x')!, /must not start/);
    assert.match(labelProblem('x ')!, /must not end/);
    assert.match(labelProblem('a\u0001b')!, /control characters/);
    assert.match(labelProblem('a:b')!, /character ":" is not allowed/);
    assert.match(labelProblem('x'.repeat(65))!, /at most 64/);
    assert.equal(labelProblem(''), 'a label must not be empty');
  });

  it('keeps grid and axis names to directory-safe identifiers', () => {
    for (const ok of ['table2', 'train.optimizer.lr', 'my-grid_2', '2x']) assert.equal(nameProblem(ok, 'a name'), undefined, ok);
    for (const bad of ['../x', 'a b', '.hidden', 'a/b', 'x..y', ''])
      assert.ok(nameProblem(bad, 'a name'), bad);
  });
});
