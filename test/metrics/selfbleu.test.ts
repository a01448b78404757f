import assert from 'node:assert/strict';
import { meanSelfBleu, selfBleu } from '../../src/metrics/selfbleu.ts';
import { Rng } from '../../src/util/rng.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

// Numbers cross-checked against a line-by-line transcription of NLTK's
// bleu_score.py (sentence_bleu + SmoothingFunction().method1, unnormalised
// fractions) run in Python; each is also derived by hand below.
const Q1 = ['a b c d e'.split(' '), 'a b c e d'.split(' '), 'a x'.split(' ')];
const Q2 = ['a a a'.split(' '), 'a b'.split(' '), 'a a c'.split(' '), []];

describe('metrics/selfbleu', () => {
  it('hand-computed question 1 (NLTK sentence_bleu, method1)', () => {
    // h = r1 = a b c d e, refs {r2 = a b c e d, r3 = a x}
    //   p1 = 5/5, p2 = 2/4 (ab bc; not cd de), p3 = 1/3 (abc), p4 = 0/2 -> 0.1/2 = 0.05
    //   closest ref length 5 -> BP = 1
    //   BLEU-1 = 1, BLEU-2 = sqrt(1/2), BLEU-3 = (1/6)^(1/3), BLEU-4 = (1/120)^(1/4)
    const b1 = [1, Math.sqrt(0.5), (1 / 6) ** (1 / 3), (0.5 * (1 / 3) * 0.05) ** 0.25];
    // h = r3 = a x, refs {r1, r2}: p1 = 1/2, p2 = 0/1 -> 0.1, p3 = p4 = 0/max(1,0) -> 0.1
    //   closest ref length 5 > 2 -> BP = exp(1 - 5/2)
    const bp = Math.exp(1 - 5 / 2);
    const b3 = [bp * 0.5, bp * Math.sqrt(0.05), bp * 0.005 ** (1 / 3), bp * 0.0005 ** 0.25];
    const avg = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const s = selfBleu(Q1);
    // r2 is r1's mirror image
    close(s.perResponse[0], avg(b1));
    close(s.perResponse[1], avg(b1));
    close(s.perResponse[2], avg(b3));
    close(s.perResponse[0], 0.6398913822678322); // python transcription of NLTK
    close(s.perResponse[2], 0.05824474066320094);
    close(s.mean, 0.44600916839962174);
    for (let n = 0; n < 4; n++) close(s.perN[n], (2 * b1[n] + b3[n]) / 3);
    close(s.perN[3], 0.2125469402581729);
  });

  it('keeps the unnormalised denominator when smoothing a zero count (0/2 -> 0.05, not 0.1)', () => {
    const s = selfBleu(Q1);
    const wrongNormalised = (0.5 * (1 / 3) * 0.1) ** 0.25;
    const right = (0.5 * (1 / 3) * 0.05) ** 0.25;
    // BLEU-4 of r1 enters perN[3] twice (r1 and r2) plus r3's
    const bp = Math.exp(-1.5);
    close(s.perN[3], (2 * right + bp * 0.0005 ** 0.25) / 3);
    assert.ok(Math.abs(s.perN[3] - (2 * wrongNormalised + bp * 0.0005 ** 0.25) / 3) > 1e-3);
  });

  it('clips by the largest count in any one other response; empty hypothesis scores 0', () => {
    // h = a a a vs {a b, a a c, []}: max ref count of a is 2 -> p1 = 2/3;
    // aa x2 vs 1 in "a a c" -> p2 = 1/2; p3 = p4 = 0/1 -> 0.1; closest length 3 -> BP 1
    const b = [2 / 3, Math.sqrt(1 / 3), (1 / 30) ** (1 / 3), (1 / 300) ** 0.25];
    const s = selfBleu(Q2);
    close(s.perResponse[0], (b[0] + b[1] + b[2] + b[3]) / 4);
    close(s.perResponse[0], 0.45153196803457774);
    close(s.perResponse[1], 0.15832562014808874);
    assert.equal(s.perResponse[3], 0);
    close(s.mean, 0.26534738905431104);
  });

  it('no unigram match gives 0 at every order (NLTK returns before smoothing)', () => {
    const s = selfBleu([['x', 'y'], ['a', 'b']]);
    assert.deepEqual(s.perN, [0, 0, 0, 0]);
  });

  it('identical responses score 1; fewer than 2 responses are undefined', () => {
    const s = selfBleu([
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
    ]);
    close(s.mean, 1);
    assert.ok(Number.isNaN(selfBleu([[1, 2, 3]]).mean));
    const m = meanSelfBleu([Q1, [[1, 2]], Q2]);
    assert.equal(m.questions, 2);
    close(m.mean, (0.44600916839962174 + 0.26534738905431104) / 2);
  });

  it('agrees with a direct all-pairs computation on random responses with many ties', () => {
    // direct transcription of NLTK's modified_precision over explicit reference lists
    const grams = (s: number[], n: number) => {
      const m = new Map<string, number>();
      for (let i = 0; i + n <= s.length; i++) {
        const k = s.slice(i, i + n).join(',');
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      return m;
    };
    const bleu = (refs: number[][], h: number[], N: number) => {
      const p: [number, number][] = [];
      for (let n = 1; n <= N; n++) {
        const c = grams(h, n);
        let num = 0;
        let tot = 0;
        for (const [g, cnt] of c) {
          num += Math.min(cnt, Math.max(...refs.map((r) => grams(r, n).get(g) ?? 0)));
          tot += cnt;
        }
        p.push([num, Math.max(1, tot)]);
      }
      const r = refs.map((x) => x.length).sort((a, b) => Math.abs(a - h.length) - Math.abs(b - h.length) || a - b)[0];
      const bp = h.length > r ? 1 : h.length === 0 ? 0 : Math.exp(1 - r / h.length);
      if (p[0][0] === 0) return 0;
      return bp * Math.exp(p.reduce((s, [a, d]) => s + (1 / N) * Math.log(a === 0 ? 0.1 / d : a / d), 0));
    };
    const rng = Rng.seeded(7);
    for (let trial = 0; trial < 20; trial++) {
      const G = rng.int(2, 6);
      const resps = Array.from({ length: G }, () => Array.from({ length: rng.int(0, 9) }, () => rng.int(0, 2)));
      const s = selfBleu(resps);
      resps.forEach((h, j) => {
        const refs = resps.filter((_, o) => o !== j);
        const want = [1, 2, 3, 4].map((N) => bleu(refs, h, N)).reduce((a, x) => a + x, 0) / 4;
        close(s.perResponse[j], want, 1e-12);
      });
    }
  });
});
