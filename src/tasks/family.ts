// What a problem family of the task world is (Family), the builder that turns a
// family written as parse / format / answer / trace over its own problem type
// into one, and the digit helpers the families share. The families themselves:
// columns.ts, chains.ts, ood.ts; the list of them: families.ts.
import type { Rng } from '../util/rng.ts';
import type { ErrorRates, Trace } from './trace.ts';

export interface Family {
  name: string;
  domain: 'id' | 'ood';
  description: string;
  levels: readonly number[];
  /** the number of distinct prompts at a level (exact) */
  capacity(level: number): number;
  /** draws a prompt at a level (not necessarily new) */
  sample(rng: Rng, level: number): string;
  /** true when the prompt is a well-formed prompt of this family */
  owns(prompt: string): boolean;
  level(prompt: string): number;
  answer(prompt: string): string;
  /** a fresh trace program for the prompt */
  trace(prompt: string): Trace;
  /** per-fork error rates of the corpus corruption model */
  rates: ErrorRates;
}

/** What a family is written as: its prompts parsed into P and back, and what it computes from P. */
export interface Spec<P> {
  name: string;
  domain: 'id' | 'ood';
  description: string;
  capacity: (level: number) => number;
  sample: (rng: Rng, level: number) => P;
  format: (p: P) => string;
  parse: (prompt: string) => P | null;
  level: (p: P) => number;
  answer: (p: P) => string;
  trace: (p: P) => Trace;
  rates: ErrorRates;
}

export function family<P>(s: Spec<P>): Family {
  const get = (prompt: string): P => {
    const p = s.parse(prompt);
    if (p === null) throw new Error(`${s.name}: not a prompt of this family: ${JSON.stringify(prompt)}`);
    return p;
  };
  return {
    name: s.name,
    domain: s.domain,
    description: s.description,
    levels: [1, 2, 3],
    capacity: s.capacity,
    sample: (rng, level) => s.format(s.sample(rng, level)),
    owns: (prompt) => s.parse(prompt) !== null,
    level: (prompt) => s.level(get(prompt)),
    answer: (prompt) => s.answer(get(prompt)),
    trace: (prompt) => s.trace(get(prompt)),
    rates: s.rates,
  };
}

// ---------------------------------------------------------------- helpers

/** Decimal digits, least significant first. */
export function digitsLE(n: number): number[] {
  const out: number[] = [];
  do {
    out.push(n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return out;
}

export function ndigits(n: number): number {
  return String(n).length;
}

/** "00x" -> "x", "" or "000" -> "0": how a number is written. */
export function stripZeros(s: string): string {
  const t = s.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

export function intIn(rng: Rng, digits: number): number {
  return rng.int(10 ** (digits - 1), 10 ** digits - 1);
}

export function checkLevel(name: string, level: number): void {
  if (level !== 1 && level !== 2 && level !== 3) throw new Error(`${name}: no level ${level}`);
}

/** A number as prompts write it (no leading zero), as a regex group. */
export const INT = '([1-9][0-9]*)';
