// Measured statistics of a corpus: the numbers that say whether the task world
// has the shape the study needs (correctness per family, lengths, how much of
// a wrong trace is determined by its prefix, the entropy floor an ideal model
// of the corpus would have). Used by the tests and by docs/task-world.md.
import { familyByName } from './families.ts';
import { type ErrorRates, type Fork, forkDistribution } from './trace.ts';
import type { CorpusItem } from './types.ts';
import { checkResponse } from './world.ts';

export interface GroupStats {
  n: number;
  /** share of items whose final answer is right */
  correct: number;
  /** response tokens, EOS included */
  meanLength: number;
  minLength: number;
  maxLength: number;
  /** share of response tokens (EOS included) that are fork characters */
  forkTokenShare: number;
  /**
   * Over wrong items: of the tokens after the first deviation (EOS included),
   * the share the reference solver predicts from the prefix.
   */
  determinedAfterDeviation: number;
  /** Over wrong items: share of the tokens after the first deviation that are not fork characters. */
  literalAfterDeviation: number;
  /** Over wrong items: mean number of wrong fork values. */
  wrongForksPerWrongItem: number;
  /** Mean per-token entropy (nats) an ideal model of the corpus would have on these responses. */
  idealEntropy: number;
  /** Share of tokens whose ideal entropy exceeds 0.3 nats (the "forking tokens"). */
  highEntropyShare: number;
  /** Mean probability, under the corpus distribution, of the value written at each fork: in correct / in wrong items. */
  meanForkProbCorrect: number;
  meanForkProbWrong: number;
  /** Mean probability of each response token (EOS included) under an ideal model of the corpus: correct / wrong items. */
  meanTokenProbCorrect: number;
  meanTokenProbWrong: number;
  /** Share of the tokens of wrong items that an ideal model of the corpus gives less than 0.5. */
  lowProbShareWrong: number;
}

/**
 * At each position of a written value, and at the character after it: the
 * entropy of the next character under the corpus distribution, and the
 * probability of the character actually written (END = the value stops).
 */
function valueCharEntropies(f: Fork, written: string, rates: ErrorRates): { h: number; p: number }[] {
  const dist = forkDistribution(f, rates);
  const out: { h: number; p: number }[] = [];
  for (let j = 0; j <= written.length; j++) {
    const prefix = written.slice(0, j);
    const next = new Map<string, number>();
    let total = 0;
    for (const [v, p] of dist) {
      if (p <= 0 || !v.startsWith(prefix)) continue;
      const c = j < v.length ? v[j] : '<end>';
      next.set(c, (next.get(c) ?? 0) + p);
      total += p;
    }
    let h = 0;
    for (const p of next.values()) {
      const q = p / total;
      if (q > 0) h -= q * Math.log(q);
    }
    const actual = j < written.length ? written[j] : '<end>';
    out.push({ h, p: total > 0 ? (next.get(actual) ?? 0) / total : 0 });
  }
  return out;
}

export function corpusStats(items: readonly CorpusItem[]): GroupStats {
  let n = 0;
  let correct = 0;
  let lenSum = 0;
  let minLength = Infinity;
  let maxLength = 0;
  let tokens = 0;
  let forkTokens = 0;
  let afterDev = 0;
  let afterDevDetermined = 0;
  let afterDevLiteral = 0;
  let wrongItems = 0;
  let wrongForks = 0;
  let entropySum = 0;
  let highEntropy = 0;
  let probC = 0;
  let nProbC = 0;
  let probW = 0;
  let nProbW = 0;
  let tokProbC = 0;
  let tokC = 0;
  let tokProbW = 0;
  let tokW = 0;
  let lowW = 0;
  for (const it of items) {
    const fam = familyByName(it.family);
    const len = it.response.length + 1;
    n++;
    if (it.correct) correct++;
    lenSum += len;
    minLength = Math.min(minLength, len);
    maxLength = Math.max(maxLength, len);
    tokens += len;
    const chk = checkResponse(it, it.response);
    if (!chk.wellFormed) throw new Error(`corpus item does not parse as its own trace: ${it.prompt} -> ${it.response}`);
    const ent = new Array<number>(len).fill(0);
    const prob = new Array<number>(len).fill(1);
    for (const fk of chk.forks) {
      const hs = valueCharEntropies(fk.fork, fk.written, fam.rates);
      hs.forEach(({ h, p }, j) => {
        if (fk.start + j < len) {
          ent[fk.start + j] += h;
          prob[fk.start + j] *= p;
        }
      });
      const p = forkDistribution(fk.fork, fam.rates).get(fk.written) ?? 0;
      if (it.correct) {
        probC += p;
        nProbC++;
      } else {
        probW += p;
        nProbW++;
      }
    }
    for (const h of ent) {
      entropySum += h;
      if (h > 0.3) highEntropy++;
    }
    for (const p of prob) {
      if (it.correct) {
        tokProbC += p;
        tokC++;
      } else {
        tokProbW += p;
        tokW++;
        if (p < 0.5) lowW++;
      }
    }
    for (let i = 0; i < len - 1; i++) if (chk.role[i] === 'fork') forkTokens++;
    if (!it.correct) {
      wrongItems++;
      wrongForks += chk.forks.filter((f) => f.written !== f.fork.value).length;
      const d = chk.firstDeviation;
      if (d !== null) {
        for (let i = d + 1; i < len; i++) {
          afterDev++;
          if (chk.consistent[i]) afterDevDetermined++;
          if (chk.role[i] === 'lit') afterDevLiteral++;
        }
      }
    }
  }
  return {
    n,
    correct: n ? correct / n : NaN,
    meanLength: n ? lenSum / n : NaN,
    minLength: n ? minLength : NaN,
    maxLength: n ? maxLength : NaN,
    forkTokenShare: tokens ? forkTokens / tokens : NaN,
    determinedAfterDeviation: afterDev ? afterDevDetermined / afterDev : NaN,
    literalAfterDeviation: afterDev ? afterDevLiteral / afterDev : NaN,
    wrongForksPerWrongItem: wrongItems ? wrongForks / wrongItems : NaN,
    idealEntropy: tokens ? entropySum / tokens : NaN,
    highEntropyShare: tokens ? highEntropy / tokens : NaN,
    meanForkProbCorrect: nProbC ? probC / nProbC : NaN,
    meanForkProbWrong: nProbW ? probW / nProbW : NaN,
    meanTokenProbCorrect: tokC ? tokProbC / tokC : NaN,
    meanTokenProbWrong: tokW ? tokProbW / tokW : NaN,
    lowProbShareWrong: tokW ? lowW / tokW : NaN,
  };
}

/** corpusStats per family, per (family, level), and over everything. */
export function corpusReport(items: readonly CorpusItem[]): Record<string, GroupStats> {
  const groups = new Map<string, CorpusItem[]>();
  const add = (k: string, it: CorpusItem) => {
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(it);
  };
  for (const it of items) {
    add('all', it);
    add(it.family, it);
    add(`${it.family}/L${it.level}`, it);
  }
  const out: Record<string, GroupStats> = {};
  for (const k of [...groups.keys()].sort()) out[k] = corpusStats(groups.get(k)!);
  return out;
}
