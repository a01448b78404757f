// N-gram diversity of the responses to one question (SPEC 10): for each order
// n = 1..4, the number of distinct n-grams divided by the total number of
// n-grams over all the question's responses together (n-grams never cross
// from one response into the next). Reported per n and as the mean over n,
// then averaged over questions.
import { meanDefined, requireInt } from './check.ts';

/** A token: an id from the tokenizer or a string; 1 and "1" are different tokens. */
export type Token = number | string;
export type Response = readonly Token[];

export const DIVERSITY_MAX_N = 4;

/**
 * Maps tokens to small integers so that an n-gram can be keyed by a string of
 * integers. One interner per question keeps keys short; numbers and strings
 * stay distinct because Map compares by type and value.
 */
export class TokenInterner {
  private readonly ids = new Map<Token, number>();

  id(t: Token): number {
    let v = this.ids.get(t);
    if (v === undefined) {
      v = this.ids.size;
      this.ids.set(t, v);
    }
    return v;
  }

  intern(tokens: Response): number[] {
    return tokens.map((t) => this.id(t));
  }
}

/** The keys of the n-grams of one (interned) response, in order; empty when shorter than n. */
export function ngramKeys(ids: readonly number[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= ids.length; i++) out.push(ids.slice(i, i + n).join(','));
  return out;
}

export interface NgramDiversity {
  /** perN[n - 1] = distinct / total for order n; NaN when there is no n-gram of that order. */
  perN: number[];
  /** Mean of perN over the orders that are defined; NaN when none is. */
  mean: number;
}

/** Distinct-n ratio of one question's responses, for n = 1..maxN. */
export function ngramDiversity(responses: readonly Response[], maxN = DIVERSITY_MAX_N): NgramDiversity {
  requireInt('maxN', maxN, 1);
  const interner = new TokenInterner();
  const ids = responses.map((r) => interner.intern(r));
  const perN: number[] = [];
  for (let n = 1; n <= maxN; n++) {
    const seen = new Set<string>();
    let total = 0;
    for (const r of ids) {
      const keys = ngramKeys(r, n);
      total += keys.length;
      for (const k of keys) seen.add(k);
    }
    perN.push(total === 0 ? NaN : seen.size / total);
  }
  return { perN, mean: meanDefined(perN) };
}

export interface MeanNgramDiversity extends NgramDiversity {
  /** Questions with at least one unigram (the others are left out of the means). */
  questions: number;
}

/**
 * N-gram diversity averaged over questions: perN[n - 1] is the mean over
 * questions of their order-n ratio, mean is the mean over questions of their
 * mean over n. A question without any n-gram of order n is left out of that
 * order's average (its ratio is undefined, not 0).
 */
export function meanNgramDiversity(questions: readonly (readonly Response[])[], maxN = DIVERSITY_MAX_N): MeanNgramDiversity {
  const per = questions.map((q) => ngramDiversity(q, maxN));
  const perN: number[] = [];
  for (let n = 0; n < maxN; n++) perN.push(meanDefined(per.map((p) => p.perN[n])));
  return {
    perN,
    mean: meanDefined(per.map((p) => p.mean)),
    questions: per.filter((p) => !Number.isNaN(p.mean)).length,
  };
}
