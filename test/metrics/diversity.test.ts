import assert from 'node:assert/strict';
import { meanNgramDiversity, ngramDiversity } from '../../src/metrics/diversity.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('metrics/diversity (n-gram)', () => {
  it('pools all responses of a question, n-grams never cross responses', () => {
    // r1 = 1 2 3, r2 = 1 2 4
    // n=1: 6 tokens, distinct {1,2,3,4} -> 4/6
    // n=2: 12 23 | 12 24 -> 4 total (not 5: no "3 1"), distinct 3 -> 3/4
    // n=3: 123 | 124 -> 2/2
    // n=4: none -> undefined (NaN), left out of the mean
    // mean = (2/3 + 3/4 + 1) / 3 = 29/36
    const d = ngramDiversity([
      [1, 2, 3],
      [1, 2, 4],
    ]);
    close(d.perN[0], 4 / 6);
    close(d.perN[1], 3 / 4);
    close(d.perN[2], 1);
    assert.ok(Number.isNaN(d.perN[3]));
    close(d.mean, 29 / 36);
  });

  it('string tokens, repeats inside one response', () => {
    // a b a b: n=1 2/4, n=2 (ab ba ab) 2/3, n=3 (aba bab) 2/2, n=4 1/1; mean 19/24
    const d = ngramDiversity([['a', 'b', 'a', 'b']]);
    assert.deepEqual(d.perN.map((x) => +x.toFixed(12)), [0.5, +(2 / 3).toFixed(12), 1, 1]);
    close(d.mean, 19 / 24);
  });

  it('the number 1 and the string "1" are different tokens', () => {
    close(ngramDiversity([[1, '1']], 1).perN[0], 1);
    close(ngramDiversity([[1, 1]], 1).perN[0], 0.5);
  });

  it('averages over questions, skipping undefined orders and empty questions', () => {
    const q1 = [
      [1, 2, 3],
      [1, 2, 4],
    ];
    const q2 = [['a', 'b', 'a', 'b']];
    const m = meanNgramDiversity([q1, q2, []]);
    close(m.perN[0], (2 / 3 + 1 / 2) / 2);
    close(m.perN[1], (3 / 4 + 2 / 3) / 2);
    close(m.perN[2], 1);
    close(m.perN[3], 1); // only q2 has 4-grams
    close(m.mean, (29 / 36 + 19 / 24) / 2);
    assert.equal(m.questions, 2);
    assert.ok(Number.isNaN(meanNgramDiversity([]).mean));
  });
});
