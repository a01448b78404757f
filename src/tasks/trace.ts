// Traces as programs. A family writes its worked solution as a generator that
// yields literal text and "forks" (the uncertain steps: a column sum, a
// comparison, a remainder). Whoever drives the generator decides what is
// written at each fork and sends it back; everything after is computed from
// what was WRITTEN, not from the truth. One definition therefore gives:
//   - the reference solution (write the correct value at every fork),
//   - corrupted corpus traces (sometimes write a plausible wrong value, and the
//     rest of the trace follows consistently from it),
//   - a reference solver for any response (read the written values back and
//     check every other character against the consistent continuation).
import type { Rng } from '../util/rng.ts';

export interface Lit {
  kind: 'lit';
  text: string;
}

export interface Fork {
  kind: 'fork';
  /** what a correct step writes here, given what was written before */
  value: string;
  /** plausible wrong values, most plausible first; never equal to value */
  alts: string[];
  /** hard steps (carries, borrows, close comparisons...) go wrong more often */
  hard: boolean;
  /** how a reader finds the written value: the maximal run of these chars ... */
  charset: string;
  /** ... or exactly this many chars */
  width?: number;
  /**
   * A reward-neutral choice (world `phrase`): every value of the charset is
   * right, `value` is the most likely one, and the corpus draws from these
   * [value, probability] pairs. Absent on the arith world's forks.
   */
  neutral?: ReadonlyArray<readonly [string, number]>;
}

export type Seg = Lit | Fork;
export type Trace = Generator<Seg, void, string>;

export const DIGITS = '0123456789';

export function lit(text: string): Lit {
  return { kind: 'lit', text };
}

/** A numeric step; alts are filtered to distinct non-negative values in [lo, hi], != value. */
export function numFork(value: number, alts: number[], hard: boolean, lo = 0, hi = Number.MAX_SAFE_INTEGER): Fork {
  const keep: string[] = [];
  const taken: number[] = [value];
  for (const a of alts) {
    if (!Number.isInteger(a) || a < lo || a > hi || taken.includes(a)) continue;
    taken.push(a);
    keep.push(String(a));
  }
  return { kind: 'fork', value: String(value), alts: keep, hard, charset: DIGITS };
}

/** A one-character step (a comparison sign, a stop decision, a separator). */
export function charFork(value: string, alts: string[], hard: boolean, charset: string): Fork {
  return { kind: 'fork', value, alts: [...new Set(alts)].filter((a) => a !== value), hard, charset, width: 1 };
}

/** Reads a number written at a numeric fork (digits only, by construction of the reader). */
export function num(written: string): number {
  return written === '' ? NaN : Number(written);
}

export interface ForkRecord {
  /** char offset of the written value in the text */
  start: number;
  written: string;
  /** the correct value given the prefix */
  value: string;
  hard: boolean;
}

export interface Rendered {
  text: string;
  forks: ForkRecord[];
}

/** Drives a trace, asking `choose` what to write at each fork. */
export function renderTrace(trace: Trace, choose: (f: Fork) => string): Rendered {
  let text = '';
  const forks: ForkRecord[] = [];
  let r = trace.next('');
  while (!r.done) {
    const seg = r.value;
    if (seg.kind === 'lit') {
      text += seg.text;
      r = trace.next(seg.text);
    } else {
      const w = choose(seg);
      forks.push({ start: text.length, written: w, value: seg.value, hard: seg.hard });
      text += w;
      r = trace.next(w);
    }
  }
  return { text, forks };
}

export function solutionOf(trace: Trace): string {
  return renderTrace(trace, (f) => f.value).text;
}

/** Per-fork error probabilities of the corpus corruption model. */
export interface ErrorRates {
  hard: number;
  easy: number;
}

/** Share of errors that take the first (most plausible) alternative when there are several. */
export const DOMINANT_ALT = 0.6;

/** Chooser for corrupted corpus traces: at each fork, with the family's error rate, a plausible wrong value. */
export function corruptingChooser(rng: Rng, rates: ErrorRates): (f: Fork) => string {
  return (f) => {
    const e = f.hard ? rates.hard : rates.easy;
    if (f.alts.length === 0 || rng.float() >= e) return f.value;
    if (f.alts.length === 1 || rng.float() < DOMINANT_ALT) return f.alts[0];
    return f.alts[rng.int(1, f.alts.length - 1)];
  };
}

/** The probability distribution over written values the corruption model puts on a fork. */
export function forkDistribution(f: Fork, rates: ErrorRates): Map<string, number> {
  const d = new Map<string, number>();
  const e = f.alts.length === 0 ? 0 : f.hard ? rates.hard : rates.easy;
  d.set(f.value, 1 - e);
  if (f.alts.length === 1) d.set(f.alts[0], e);
  else if (f.alts.length > 1) {
    d.set(f.alts[0], e * DOMINANT_ALT);
    for (let i = 1; i < f.alts.length; i++) d.set(f.alts[i], (d.get(f.alts[i]) ?? 0) + (e * (1 - DOMINANT_ALT)) / (f.alts.length - 1));
  }
  return d;
}

export type CharRole = 'lit' | 'fork' | 'neutral';

/**
 * What a reference solver says about a response, character by character,
 * plus one final slot for EOS (index = response.length).
 * `consistent[i]` is true when character i is exactly what a correct solver
 * predicts from the prompt and the characters before i (taking the values
 * written at earlier forks as given). A wrong step makes its own fork
 * character inconsistent; what follows it can still be consistent.
 */
export interface TraceCheck {
  role: CharRole[];
  consistent: boolean[];
  /** index of the first inconsistent character (EOS slot included), or null when none */
  firstDeviation: number | null;
  /** the response parsed to the end as this problem's trace (forks may hold wrong values) */
  wellFormed: boolean;
  /** the forks met, with what the response wrote there */
  forks: { start: number; written: string; fork: Fork }[];
}

function readWritten(response: string, pos: number, f: Fork): string {
  if (f.width !== undefined) {
    const w = response.slice(pos, pos + f.width);
    return w.length === f.width && [...w].every((c) => f.charset.includes(c)) ? w : '';
  }
  let end = pos;
  while (end < response.length && f.charset.includes(response[end])) end++;
  return response.slice(pos, end);
}

/** The reference solver: replays the trace against a response. */
export function checkTrace(trace: Trace, response: string): TraceCheck {
  const n = response.length;
  const role: CharRole[] = new Array(n + 1).fill('lit');
  const consistent: boolean[] = new Array(n + 1).fill(false);
  let pos = 0;
  let broken = false;
  const shortAt: number[] = [];
  const forks: TraceCheck['forks'] = [];
  let r: IteratorResult<Seg, void>;
  // a family's trace code must accept any written value; if it throws anyway,
  // the response is judged broken at that point rather than crashing the caller
  const step = (sent: string): IteratorResult<Seg, void> => {
    try {
      return trace.next(sent);
    } catch {
      broken = true;
      return { done: true, value: undefined };
    }
  };
  r = step('');
  while (!r.done && !broken) {
    const seg = r.value;
    if (seg.kind === 'lit') {
      for (let j = 0; j < seg.text.length; j++) {
        if (pos >= n || response[pos] !== seg.text[j]) {
          broken = true; // what follows no longer follows this trace: nothing after is judged consistent
          break;
        }
        consistent[pos] = true;
        pos++;
      }
      if (!broken) r = step(seg.text);
    } else {
      const w = readWritten(response, pos, seg);
      if (w === '') {
        broken = true;
        break;
      }
      forks.push({ start: pos, written: w, fork: seg });
      if (seg.neutral) {
        // any value of the charset is a right one
        for (let j = 0; j < w.length; j++) {
          role[pos + j] = 'neutral';
          consistent[pos + j] = true;
        }
        pos += w.length;
        r = step(w);
        continue;
      }
      let ok = true;
      for (let j = 0; j < w.length; j++) {
        role[pos + j] = 'fork';
        ok = ok && j < seg.value.length && w[j] === seg.value[j];
        consistent[pos + j] = ok;
      }
      // a value that stopped short (wrote "1" where "10" was due): the solver
      // expected another digit where the next character stands
      if (ok && w.length < seg.value.length) shortAt.push(pos + w.length);
      pos += w.length;
      r = step(w);
    }
  }
  for (const i of shortAt) consistent[i] = false;
  const wellFormed = !broken && r.done === true && pos === n;
  if (wellFormed) consistent[n] = true; // EOS where the solver expects it
  let firstDeviation: number | null = null;
  for (let i = 0; i <= n; i++) {
    if (!consistent[i]) {
      firstDeviation = i;
      break;
    }
  }
  return { role, consistent, firstDeviation, wellFormed, forks };
}
