import assert from 'node:assert/strict';
import type { Problem } from '../../src/tasks/index.ts';
import { answerSpan, finalAnswer, getTaskWorld, reward } from '../../src/tasks/index.ts';

const p: Problem = { id: 'x', family: 'add', level: 1, prompt: '47+38', solution: '7+8=15;4+3+1=8;#85', answer: '85' };

describe('tasks/verify', () => {
  it('scores the reference solution 1, and any trace ending in the right answer 1', () => {
    assert.equal(reward(p, p.solution), 1);
    assert.equal(reward(p, '#85'), 1); // outcome reward: the trace is not graded
    assert.equal(reward(p, '7+8=14;4+3+1=9;#85'), 1);
  });

  it('scores wrong and malformed answers 0', () => {
    const bad = [
      '7+8=15;4+3+1=8;#84', // wrong
      '7+8=15;4+3+1=8;85', // no delimiter
      '7+8=15;4+3+1=8;#', // empty answer
      '7+8=15;4+3+1=8;#085', // leading zero
      '7+8=15;4+3+1=8;#+85', // sign
      '7+8=15;4+3+1=8;# 85', // space
      '7+8=15;4+3+1=8;#85;', // extra character
      '7+8=15;4+3+1=8;#85#', // second delimiter
      '#8#5',
      '#85.0',
      '',
      '#',
      '85',
    ];
    for (const r of bad) assert.equal(reward(p, r), 0, JSON.stringify(r));
  });

  it('never throws, whatever it is given', () => {
    const junk: unknown[] = [undefined, null, 85, {}, [], '#'.repeat(1000)];
    for (const j of junk) {
      assert.equal(reward(p, j as string), 0);
      assert.equal(answerSpan(j as string), null);
    }
    assert.equal(reward(p, '#85\n'), 0);
    assert.equal(reward(null as unknown as Problem, '#85'), 0);
    assert.equal(reward({ ...p, answer: '' }, '#'), 0);
  });

  it('answerSpan is the text after the single "#"', () => {
    assert.deepEqual(answerSpan('7+8=15;4+3+1=8;#85'), [16, 18]);
    assert.deepEqual(answerSpan('#0'), [1, 2]);
    assert.deepEqual(answerSpan('1;2;#ab-ab'), [5, 10]);
    assert.equal(answerSpan('7+8=15'), null);
    assert.equal(answerSpan('#'), null);
    assert.equal(answerSpan('#8#5'), null);
    assert.equal(finalAnswer('a0;b1;#1'), '1');
    assert.equal(finalAnswer('no answer'), null);
  });

  it('the world exposes the same verifier', () => {
    const w = getTaskWorld('arith');
    assert.equal(w.reward(p, p.solution), 1);
    assert.equal(w.reward(p, '#84'), 0);
    assert.deepEqual(w.answerSpan('x#12'), [2, 4]);
  });
});
