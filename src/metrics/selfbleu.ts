// Self-BLEU of the responses to one question (SPEC 10), with exactly the
// semantics of NLTK's sentence_bleu(references, hypothesis, weights,
// smoothing_function=SmoothingFunction().method1), auto_reweigh off:
//
// For a hypothesis h (one response) and references R (all the other responses
// of the same question), for each order i:
//   count_i(g)   = occurrences of n-gram g (order i) in h
//   max_ref_i(g) = max over r in R of the occurrences of g in r
//   num_i = sum_g min(count_i(g), max_ref_i(g)),  den_i = max(1, #n-grams of h)
// (the fraction is kept unnormalised: 0/5 keeps denominator 5).
// BLEU-n (cumulative, weights 1/n over orders 1..n):
//   - if num_1 = 0: BLEU-n = 0 (NLTK returns 0 before smoothing);
//   - else p_i = num_i / den_i, or (num_i + 0.1) / den_i = 0.1 / den_i when
//     num_i = 0 (method1, epsilon 0.1), and
//     BLEU-n = BP * exp(sum_{i=1..n} (1/n) log p_i)
//   BP: r = the reference length closest to |h| (ties: the shorter), and
//     BP = 1 if |h| > r, 0 if |h| = 0, else exp(1 - r/|h|).
// A response's Self-BLEU is the mean of BLEU-1..BLEU-4; a question's is the
// mean over its responses; the reported number is the mean over questions.
//
// max_ref_i(g) over "all others" is found in O(total n-grams) per question:
// for each n-gram we keep the largest per-response count (and whose it is)
// and the largest count in any other response.
import { TokenInterner, ngramKeys, type Response } from './diversity.ts';
import { meanDefined, requireInt } from './check.ts';

export const SELF_BLEU_MAX_N = 4;
/** NLTK SmoothingFunction().method1 epsilon. */
export const SELF_BLEU_EPSILON = 0.1;

interface Top2 {
  top1: number;
  top1Owner: number;
  top2: number;
}

export interface SelfBleu {
  /** perN[n - 1] = mean over responses of BLEU-n. */
  perN: number[];
  /** Mean over responses of (mean of BLEU-1..maxN). */
  mean: number;
  /** perResponse[j] = mean of BLEU-1..maxN with response j as hypothesis. */
  perResponse: number[];
}

/** Self-BLEU of one question's responses; all NaN when there are fewer than 2 responses. */
export function selfBleu(responses: readonly Response[], maxN = SELF_BLEU_MAX_N): SelfBleu {
  requireInt('maxN', maxN, 1);
  const G = responses.length;
  if (G < 2) return { perN: Array(maxN).fill(NaN), mean: NaN, perResponse: Array(G).fill(NaN) };
  const interner = new TokenInterner();
  const ids = responses.map((r) => interner.intern(r));
  const lens = ids.map((r) => r.length);

  // numerators[j][i-1] and denominators[j][i-1] for hypothesis j and order i
  const num: number[][] = ids.map(() => []);
  const den: number[][] = ids.map(() => []);
  for (let n = 1; n <= maxN; n++) {
    const counts = ids.map((r) => {
      const m = new Map<string, number>();
      for (const k of ngramKeys(r, n)) m.set(k, (m.get(k) ?? 0) + 1);
      return m;
    });
    const tops = new Map<string, Top2>();
    counts.forEach((m, j) => {
      for (const [k, c] of m) {
        const t = tops.get(k);
        if (t === undefined) tops.set(k, { top1: c, top1Owner: j, top2: 0 });
        else if (c > t.top1) {
          t.top2 = t.top1;
          t.top1 = c;
          t.top1Owner = j;
        } else if (c > t.top2) t.top2 = c;
      }
    });
    counts.forEach((m, j) => {
      let clipped = 0;
      let total = 0;
      for (const [k, c] of m) {
        const t = tops.get(k)!;
        const maxOther = t.top1Owner === j ? t.top2 : t.top1;
        clipped += Math.min(c, maxOther);
        total += c;
      }
      num[j].push(clipped);
      den[j].push(Math.max(1, total));
    });
  }

  const bleu: number[][] = ids.map((_, j) => {
    const hypLen = lens[j];
    let r = -1;
    for (let o = 0; o < G; o++) {
      if (o === j) continue;
      const d = Math.abs(lens[o] - hypLen);
      if (r < 0 || d < Math.abs(r - hypLen) || (d === Math.abs(r - hypLen) && lens[o] < r)) r = lens[o];
    }
    const bp = hypLen > r ? 1 : hypLen === 0 ? 0 : Math.exp(1 - r / hypLen);
    const out: number[] = [];
    for (let n = 1; n <= maxN; n++) {
      if (num[j][0] === 0) {
        out.push(0);
        continue;
      }
      let s = 0;
      for (let i = 0; i < n; i++) {
        const p = num[j][i] === 0 ? SELF_BLEU_EPSILON / den[j][i] : num[j][i] / den[j][i];
        s += (1 / n) * Math.log(p);
      }
      out.push(bp * Math.exp(s));
    }
    return out;
  });

  const perResponse = bleu.map((b) => b.reduce((a, x) => a + x, 0) / maxN);
  const perN: number[] = [];
  for (let n = 0; n < maxN; n++) perN.push(bleu.reduce((a, b) => a + b[n], 0) / G);
  return { perN, mean: perResponse.reduce((a, x) => a + x, 0) / G, perResponse };
}

export interface MeanSelfBleu {
  perN: number[];
  mean: number;
  /** Questions with at least 2 responses (the others are left out). */
  questions: number;
}

/** Self-BLEU averaged over questions (questions with fewer than 2 responses are left out). */
export function meanSelfBleu(questions: readonly (readonly Response[])[], maxN = SELF_BLEU_MAX_N): MeanSelfBleu {
  const per = questions.map((q) => selfBleu(q, maxN));
  const perN: number[] = [];
  for (let n = 0; n < maxN; n++) perN.push(meanDefined(per.map((p) => p.perN[n])));
  return { perN, mean: meanDefined(per.map((p) => p.mean)), questions: per.filter((p) => !Number.isNaN(p.mean)).length };
}
