// The problem families of the arith world: seven arithmetic families (the RL
// training set and the in-domain benchmarks) and two out-of-domain ones. Each
// family says how to draw a prompt at a difficulty level, how to parse it back,
// its answer, and its worked trace (see trace.ts for how one trace definition
// serves as solution, corrupted corpus item and reference solver).
// Trace formats are documented, with examples, in docs/task-world.md.
import type { Rng } from '../util/rng.ts';
import { type ErrorRates, type Trace, DIGITS, charFork, lit, num, numFork } from './trace.ts';

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

interface Spec<P> {
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

function family<P>(s: Spec<P>): Family {
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
function digitsLE(n: number): number[] {
  const out: number[] = [];
  do {
    out.push(n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return out;
}

function ndigits(n: number): number {
  return String(n).length;
}

/** "00x" -> "x", "" or "000" -> "0": how a number is written. */
function stripZeros(s: string): string {
  const t = s.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

function intIn(rng: Rng, digits: number): number {
  return rng.int(10 ** (digits - 1), 10 ** digits - 1);
}

function checkLevel(name: string, level: number): void {
  if (level !== 1 && level !== 2 && level !== 3) throw new Error(`${name}: no level ${level}`);
}

const INT = '([1-9][0-9]*)';
const ADD_RE = new RegExp(`^${INT}\\+${INT}$`);
const SUB_RE = new RegExp(`^${INT}-${INT}$`);
const MUL_RE = new RegExp(`^${INT}\\*([2-9])$`);
const EXPR_TWO_RE = /^([2-9])\*([2-9])\+([2-9])\*([2-9])$/;
const EXPR_LIN_RE = new RegExp(`^([2-9])\\*([2-9])([+-])${INT}$`);
const MOD_RE = new RegExp(`^${INT}%([2-9])$`);

// ---------------------------------------------------------------- add
// 347+85 -> 7+5=12;4+8+1=13;3+0+1=4;#432
// One step per column, units first: the two digits (0 where a number has no
// digit), "+c" when the previous column carried, "=" and the column sum (the
// fork). The carry into the next column is the tens digit of the WRITTEN sum;
// the answer is the written carry and units digits read back.

interface AddP { a: number; b: number }

const ADD_SHAPES: Record<number, [number, number][]> = {
  1: [[2, 2]],
  2: [[3, 3], [3, 2], [2, 3]],
  3: [[4, 4], [4, 3], [3, 4]],
};

export const add = family<AddP>({
  name: 'add',
  domain: 'id',
  description: 'multi-digit addition, column by column with carries',
  capacity: (level) => ADD_SHAPES[level].reduce((t, [x, y]) => t + 9 * 10 ** (x - 1) * 9 * 10 ** (y - 1), 0),
  sample: (rng, level) => {
    checkLevel('add', level);
    const [x, y] = rng.pick(ADD_SHAPES[level]);
    return { a: intIn(rng, x), b: intIn(rng, y) };
  },
  format: (p) => `${p.a}+${p.b}`,
  parse: (s) => {
    const m = ADD_RE.exec(s);
    if (!m) return null;
    const p = { a: Number(m[1]), b: Number(m[2]) };
    const shape = [ndigits(p.a), ndigits(p.b)];
    return Object.values(ADD_SHAPES).some((ss) => ss.some(([x, y]) => x === shape[0] && y === shape[1])) ? p : null;
  },
  level: (p) => Math.max(ndigits(p.a), ndigits(p.b)) - 1,
  answer: (p) => String(p.a + p.b),
  *trace(p) {
    const A = digitsLE(p.a);
    const B = digitsLE(p.b);
    const cols = Math.max(A.length, B.length);
    let carry = 0;
    const units: number[] = [];
    for (let i = 0; i < cols; i++) {
      const da = A[i] ?? 0;
      const db = B[i] ?? 0;
      yield lit(`${da}+${db}${carry > 0 ? `+${carry}` : ''}=`);
      const v = da + db + carry;
      // dropped carry-in, dropped carry-out ("5" for "15"), off by one
      const alts = carry > 0 ? [v - carry, v + 1, v - 1] : v >= 10 ? [v - 10, v + 1, v - 1] : [v + 1, v - 1];
      const w = num(yield numFork(v, alts, carry > 0 || v >= 10, 0, 19));
      units.push(w % 10);
      carry = Math.floor(w / 10);
      yield lit(';');
    }
    yield lit(`#${stripZeros((carry > 0 ? String(carry) : '') + units.reverse().join(''))}`);
  },
  rates: { hard: 0.34, easy: 0.1 },
});

// ---------------------------------------------------------------- sub
// 503-178 -> 13-8=5;10-7-1=2;5-1-1=3;#325
// One step per column of the larger number, units first. When the top digit
// (less any borrow) is smaller than the bottom one, the step borrows: it is
// written with a leading 1 ("13-8"), and the next column subtracts the borrow
// ("-1"). The column difference is the fork; the borrow follows from the digits,
// so a wrong difference changes only its own answer digit.

interface SubP { a: number; b: number }

const SUB_BOTTOM_MIN: Record<number, number> = { 1: 1, 2: 10, 3: 100 };

export const sub = family<SubP>({
  name: 'sub',
  domain: 'id',
  description: 'multi-digit subtraction (larger minus smaller), column by column with borrows',
  capacity: (level) => {
    checkLevel('sub', level);
    const lo = 10 ** level;
    const hi = 10 ** (level + 1) - 1;
    const bmin = SUB_BOTTOM_MIN[level];
    // sum over a of (a - bmin) choices of b in [bmin, a-1]
    return ((lo - bmin + hi - bmin) * (hi - lo + 1)) / 2;
  },
  sample: (rng, level) => {
    checkLevel('sub', level);
    const a = intIn(rng, level + 1);
    return { a, b: rng.int(SUB_BOTTOM_MIN[level], a - 1) };
  },
  format: (p) => `${p.a}-${p.b}`,
  parse: (s) => {
    const m = SUB_RE.exec(s);
    if (!m) return null;
    const p = { a: Number(m[1]), b: Number(m[2]) };
    const level = ndigits(p.a) - 1;
    if (level < 1 || level > 3 || p.b >= p.a || p.b < SUB_BOTTOM_MIN[level]) return null;
    return p;
  },
  level: (p) => ndigits(p.a) - 1,
  answer: (p) => String(p.a - p.b),
  *trace(p) {
    const A = digitsLE(p.a);
    const B = digitsLE(p.b);
    let borrow = 0;
    const out: number[] = [];
    for (let i = 0; i < A.length; i++) {
      const ta = A[i];
      const tb = B[i] ?? 0;
      const need = ta - borrow < tb;
      yield lit(`${need ? '1' : ''}${ta}-${tb}${borrow > 0 ? `-${borrow}` : ''}=`);
      const v = (need ? 10 : 0) + ta - tb - borrow;
      // forgot the borrow-in, or a slip by one
      const alts = borrow > 0 ? [v + 1, v - 1] : [v - 1, v + 1];
      out.push(num(yield numFork(v, alts, need || borrow > 0, 0, 9)));
      borrow = need ? 1 : 0;
      yield lit(';');
    }
    yield lit(`#${stripZeros(out.reverse().join(''))}`);
  },
  rates: { hard: 0.4, easy: 0.15 },
});

// ---------------------------------------------------------------- mul
// 347*6 -> 7*6=42;4*6+4=28;3*6+2=20;#2082
// One step per digit of the multiplicand, units first: digit, "*m", "+c" when
// the previous step carried, "=" and the partial product (the fork). The carry
// is the tens of the WRITTEN partial product; the answer reads the last
// partial product whole, then the units digits of the others backwards.

interface MulP { a: number; m: number }

export const mul = family<MulP>({
  name: 'mul',
  domain: 'id',
  description: 'multi-digit number times one digit, digit by digit with carries',
  capacity: (level) => {
    checkLevel('mul', level);
    return 9 * 10 ** level * 8;
  },
  sample: (rng, level) => {
    checkLevel('mul', level);
    return { a: intIn(rng, level + 1), m: rng.int(2, 9) };
  },
  format: (p) => `${p.a}*${p.m}`,
  parse: (s) => {
    const m = MUL_RE.exec(s);
    if (!m) return null;
    const p = { a: Number(m[1]), m: Number(m[2]) };
    const level = ndigits(p.a) - 1;
    return level >= 1 && level <= 3 ? p : null;
  },
  level: (p) => ndigits(p.a) - 1,
  answer: (p) => String(p.a * p.m),
  *trace(p) {
    const A = digitsLE(p.a);
    let carry = 0;
    const units: number[] = [];
    for (let i = 0; i < A.length; i++) {
      const d = A[i];
      yield lit(`${d}*${p.m}${carry > 0 ? `+${carry}` : ''}=`);
      const v = d * p.m + carry;
      // dropped carry, times-table slip (one row off), off by one
      const alts = carry > 0 ? [v - carry, v + p.m, v - p.m, v + 1, v - 1] : [v + p.m, v - p.m, v + 1, v - 1];
      const w = num(yield numFork(v, alts, carry > 0, 0, 89));
      if (i === A.length - 1) {
        yield lit(`;#${stripZeros(String(w) + units.reverse().join(''))}`);
      } else {
        units.push(w % 10);
        carry = Math.floor(w / 10);
        yield lit(';');
      }
    }
  },
  rates: { hard: 0.38, easy: 0.15 },
});

// ---------------------------------------------------------------- expr
// 7*8+25  -> 7*8=56;56+25=81;#81
// 7*8-25  -> 7*8=56;56-25=31;#31
// 3*4+5*6 -> 3*4=12;5*6=30;12+30=42;#42
// Two or three steps, products first; each step's result is a fork and the
// next step uses the WRITTEN result.

type ExprP = { form: 'lin'; a: number; b: number; op: '+' | '-'; c: number } | { form: 'two'; a: number; b: number; c: number; d: number };

/** a*b-c needs c in [2, a*b-10] so that every plausible wrong product still exceeds c */
function minusChoices(a: number, b: number): number {
  return Math.max(0, a * b - 11);
}

const EXPR_MINUS_CAPACITY = (() => {
  let t = 0;
  for (let a = 2; a <= 9; a++) for (let b = 2; b <= 9; b++) t += minusChoices(a, b);
  return t;
})();

function productFork(a: number, b: number, lo: number) {
  const v = a * b;
  return numFork(v, [v - a, v + b, v + 1, v - 1], a >= 6 && b >= 6, lo, 81);
}

function sumFork(x: number, op: '+' | '-', y: number) {
  if (op === '+') {
    const v = x + y;
    const carry = (x % 10) + (y % 10) >= 10;
    return numFork(v, carry ? [v - 10, v + 1, v - 1] : [v + 1, v - 1], carry || y > 20);
  }
  const v = x - y;
  const borrow = x % 10 < y % 10;
  return numFork(v, borrow ? [v + 10, v - 1, v + 1] : [v - 1, v + 1], borrow || y > 20);
}

export const expr = family<ExprP>({
  name: 'expr',
  domain: 'id',
  description: 'two-step expressions with precedence: a*b+c, a*b-c, a*b+c*d',
  capacity: (level) => {
    checkLevel('expr', level);
    if (level === 1) return 64 * 20;
    if (level === 2) return 64 * 79 + EXPR_MINUS_CAPACITY;
    return 64 * 64;
  },
  sample: (rng, level) => {
    checkLevel('expr', level);
    const a = rng.int(2, 9);
    const b = rng.int(2, 9);
    if (level === 1) return { form: 'lin', a, b, op: '+', c: rng.int(1, 20) };
    if (level === 3) return { form: 'two', a, b, c: rng.int(2, 9), d: rng.int(2, 9) };
    if (rng.float() < 0.5 || minusChoices(a, b) === 0) return { form: 'lin', a, b, op: '+', c: rng.int(21, 99) };
    return { form: 'lin', a, b, op: '-', c: rng.int(2, a * b - 10) };
  },
  format: (p) => (p.form === 'lin' ? `${p.a}*${p.b}${p.op}${p.c}` : `${p.a}*${p.b}+${p.c}*${p.d}`),
  parse: (s) => {
    let m = EXPR_TWO_RE.exec(s);
    if (m) return { form: 'two', a: Number(m[1]), b: Number(m[2]), c: Number(m[3]), d: Number(m[4]) };
    m = EXPR_LIN_RE.exec(s);
    if (!m) return null;
    const a = Number(m[1]);
    const b = Number(m[2]);
    const c = Number(m[4]);
    const op = m[3] as '+' | '-';
    if (op === '+' ? c > 99 : c < 2 || c > a * b - 10) return null;
    return { form: 'lin', a, b, op, c };
  },
  level: (p) => (p.form === 'two' ? 3 : p.op === '-' || p.c > 20 ? 2 : 1),
  answer: (p) => String(p.form === 'two' ? p.a * p.b + p.c * p.d : p.op === '+' ? p.a * p.b + p.c : p.a * p.b - p.c),
  *trace(p) {
    yield lit(`${p.a}*${p.b}=`);
    const x = num(yield productFork(p.a, p.b, p.form === 'lin' && p.op === '-' ? p.c : 0));
    if (p.form === 'lin') {
      yield lit(`;${x}${p.op}${p.c}=`);
      const s = num(yield sumFork(x, p.op, p.c));
      yield lit(`;#${s}`);
    } else {
      yield lit(`;${p.c}*${p.d}=`);
      const y = num(yield productFork(p.c, p.d, 0));
      yield lit(`;${x}+${y}=`);
      const s = num(yield sumFork(x, '+', y));
      yield lit(`;#${s}`);
    }
  },
  rates: { hard: 0.4, easy: 0.15 },
});

// ---------------------------------------------------------------- maxmin
// max:47,82,39,56 -> 47<82;82>39;82>56;#82
// min:47,82,39,56 -> 47<82;47>39;39<56;#39
// A running winner compared with each next number: the comparison sign is the
// fork (one character); the next step starts from the winner the WRITTEN sign
// implies.

interface MaxMinP { op: 'max' | 'min'; xs: number[] }

function perm(n: number, k: number): number {
  let t = 1;
  for (let i = 0; i < k; i++) t *= n - i;
  return t;
}

export const maxmin = family<MaxMinP>({
  name: 'maxmin',
  domain: 'id',
  description: 'largest or smallest of 3-5 two-digit numbers, by running comparisons',
  capacity: (level) => {
    checkLevel('maxmin', level);
    return 2 * perm(90, level + 2);
  },
  sample: (rng, level) => {
    checkLevel('maxmin', level);
    const op = rng.float() < 0.5 ? 'max' : 'min';
    const xs: number[] = [];
    let cur = 0;
    while (xs.length < level + 2) {
      // half of the numbers land in the running winner's decade: close calls are the hard forks
      const x = xs.length > 0 && rng.float() < 0.5 ? Math.floor(cur / 10) * 10 + rng.int(0, 9) : rng.int(10, 99);
      if (xs.includes(x)) continue; // at most 5 of 90 values are taken, so this ends quickly
      xs.push(x);
      cur = xs.length === 1 ? x : op === 'max' ? Math.max(cur, x) : Math.min(cur, x);
    }
    return { op, xs };
  },
  format: (p) => `${p.op}:${p.xs.join(',')}`,
  parse: (s) => {
    const m = /^(max|min):([1-9][0-9](?:,[1-9][0-9]){2,4})$/.exec(s);
    if (!m) return null;
    const xs = m[2].split(',').map(Number);
    return new Set(xs).size === xs.length ? { op: m[1] as 'max' | 'min', xs } : null;
  },
  level: (p) => p.xs.length - 2,
  answer: (p) => String(p.op === 'max' ? Math.max(...p.xs) : Math.min(...p.xs)),
  *trace(p) {
    let cur = p.xs[0];
    for (let i = 1; i < p.xs.length; i++) {
      const x = p.xs[i];
      yield lit(String(cur));
      const sign = cur < x ? '<' : '>';
      const close = Math.floor(cur / 10) === Math.floor(x / 10);
      const w = yield charFork(sign, [sign === '<' ? '>' : '<'], close, '<>');
      yield lit(`${x};`);
      const keep = p.op === 'max' ? w === '>' : w === '<';
      if (!keep) cur = x;
    }
    yield lit(`#${cur}`);
  },
  rates: { hard: 0.4, easy: 0.15 },
});

// ---------------------------------------------------------------- dsum
// sum:48207 -> 4+8=12;12+2=14;14+0=14;14+7=21;#21
// A running total over the digits; each new total is a fork and the next step
// adds to the WRITTEN total.

interface DsumP { s: string }

export const dsum = family<DsumP>({
  name: 'dsum',
  domain: 'id',
  description: 'digit sum of a 4-6 digit number, as a running total',
  capacity: (level) => {
    checkLevel('dsum', level);
    return 9 * 10 ** (level + 2);
  },
  sample: (rng, level) => {
    checkLevel('dsum', level);
    let s = String(rng.int(1, 9));
    for (let i = 1; i < level + 3; i++) s += String(rng.int(0, 9));
    return { s };
  },
  format: (p) => `sum:${p.s}`,
  parse: (s) => {
    const m = /^sum:([1-9][0-9]{3,5})$/.exec(s);
    return m ? { s: m[1] } : null;
  },
  level: (p) => p.s.length - 3,
  answer: (p) => String([...p.s].reduce((t, c) => t + Number(c), 0)),
  *trace(p) {
    const D = [...p.s].map(Number);
    let acc = D[0];
    for (let i = 1; i < D.length; i++) {
      const d = D[i];
      yield lit(`${acc}+${d}=`);
      const v = acc + d;
      const carry = (acc % 10) + d >= 10;
      acc = num(yield numFork(v, carry ? [v - 10, v + 1, v - 1] : [v + 1, v - 1], carry, 0, 99));
      yield lit(';');
    }
    yield lit(`#${acc}`);
  },
  rates: { hard: 0.4, easy: 0.12 },
});

// ---------------------------------------------------------------- mod
// 347%6 -> 3%6=3;34%6=4;47%6=5;#5
// Long division keeping only remainders: bring down the next digit after the
// WRITTEN remainder, write the new remainder (the fork).

interface ModP { a: number; m: number }

export const mod = family<ModP>({
  name: 'mod',
  domain: 'id',
  description: 'remainder of a 2-4 digit number by one digit, by long division',
  capacity: (level) => {
    checkLevel('mod', level);
    return 9 * 10 ** level * 8;
  },
  sample: (rng, level) => {
    checkLevel('mod', level);
    return { a: intIn(rng, level + 1), m: rng.int(2, 9) };
  },
  format: (p) => `${p.a}%${p.m}`,
  parse: (s) => {
    const m = MOD_RE.exec(s);
    if (!m) return null;
    const p = { a: Number(m[1]), m: Number(m[2]) };
    const level = ndigits(p.a) - 1;
    return level >= 1 && level <= 3 ? p : null;
  },
  level: (p) => ndigits(p.a) - 1,
  answer: (p) => String(p.a % p.m),
  *trace(p) {
    let r = 0;
    for (const c of String(p.a)) {
      const x = r * 10 + Number(c);
      yield lit(`${x}%${p.m}=`);
      const v = x % p.m;
      r = num(yield numFork(v, [v - 1, v + 1], x >= 10, 0, p.m - 1));
      yield lit(';');
    }
    yield lit(`#${r}`);
  },
  rates: { hard: 0.38, easy: 0.15 },
});

// ---------------------------------------------------------------- ood-count
// cnt:b:abcbbac -> a0;b1;c1;b2;b3;a3;c3;#3
// Each letter of the word with the running count of the target letter after
// it; the count is the fork and the next count starts from the WRITTEN one.

interface CountP { t: string; w: string }

const LETTERS = 'abcdefgh';

export const oodCount = family<CountP>({
  name: 'ood-count',
  domain: 'ood',
  description: 'count a letter in a 5-10 letter word, with a running count',
  capacity: (level) => {
    checkLevel('ood-count', level);
    const [l0, l1] = [3 + 2 * level, 4 + 2 * level];
    return 8 * (8 ** l0 + 8 ** l1);
  },
  sample: (rng, level) => {
    checkLevel('ood-count', level);
    const t = rng.pick([...LETTERS]);
    const others = [...LETTERS].filter((c) => c !== t);
    const len = rng.int(3 + 2 * level, 4 + 2 * level);
    let w = '';
    for (let i = 0; i < len; i++) w += rng.float() < 0.3 ? t : rng.pick(others);
    return { t, w };
  },
  format: (p) => `cnt:${p.t}:${p.w}`,
  parse: (s) => {
    const m = /^cnt:([a-h]):([a-h]{5,10})$/.exec(s);
    return m ? { t: m[1], w: m[2] } : null;
  },
  level: (p) => Math.floor((p.w.length - 3) / 2),
  answer: (p) => String([...p.w].filter((c) => c === p.t).length),
  *trace(p) {
    let c = 0;
    for (const ch of p.w) {
      yield lit(ch);
      const match = ch === p.t;
      const v = c + (match ? 1 : 0);
      c = num(yield numFork(v, match ? [c] : [c + 1], match, 0, 99));
      yield lit(';');
    }
    yield lit(`#${c}`);
  },
  rates: { hard: 0.27, easy: 0.08 },
});

// ---------------------------------------------------------------- ood-format
// rep:abc,3,- -> 1;2;3;#abc-abc-abc
// Format following: write the word n times joined by the requested separator.
// The trace counts the copies; whether to count on or stop is the fork. The
// answer has as many copies as were counted, and the first separator is a
// fork too (a format slip); later separators repeat the WRITTEN first one.

interface FormatP { w: string; n: number; sep: string }

const SEPS = '-+*%';

export const oodFormat = family<FormatP>({
  name: 'ood-format',
  domain: 'ood',
  description: 'format following: repeat a word n times joined by a given separator',
  capacity: (level) => {
    checkLevel('ood-format', level);
    return (8 ** 2 + 8 ** 3 + 8 ** 4) * SEPS.length * (level === 3 ? 2 : 1);
  },
  sample: (rng, level) => {
    checkLevel('ood-format', level);
    const len = rng.int(2, 4);
    let w = '';
    for (let i = 0; i < len; i++) w += rng.pick([...LETTERS]);
    const n = level === 3 ? rng.int(4, 5) : level + 1;
    return { w, n, sep: rng.pick([...SEPS]) };
  },
  format: (p) => `rep:${p.w},${p.n},${p.sep}`,
  parse: (s) => {
    const m = /^rep:([a-h]{2,4}),([2-5]),([-+*%])$/.exec(s);
    return m ? { w: m[1], n: Number(m[2]), sep: m[3] } : null;
  },
  level: (p) => Math.min(3, p.n - 1),
  answer: (p) => Array(p.n).fill(p.w).join(p.sep),
  *trace(p) {
    yield lit('1;');
    let k = 1;
    for (;;) {
      const more = k < p.n;
      const v = more ? String(k + 1) : '#';
      // stopping one short, or counting one past n (but never two past)
      const alts = more ? ['#'] : k === p.n && k < 9 ? [String(k + 1)] : [];
      const w = yield charFork(v, alts, k >= p.n - 1, DIGITS + '#');
      if (w === '#') break;
      k = Number(w);
      yield lit(';');
    }
    yield lit(p.w);
    if (k >= 2) {
      const s = yield charFork(p.sep, [...SEPS].filter((c) => c !== p.sep), true, SEPS);
      yield lit(p.w + (s + p.w).repeat(k - 2));
    }
  },
  rates: { hard: 0.21, easy: 0.06 },
});

export const ARITH_FAMILIES: readonly Family[] = [add, sub, mul, expr, maxmin, dsum, mod];
export const OOD_FAMILIES: readonly Family[] = [oodCount, oodFormat];
export const ALL_FAMILIES: readonly Family[] = [...ARITH_FAMILIES, ...OOD_FAMILIES];

export function familyByName(name: string): Family {
  const f = ALL_FAMILIES.find((x) => x.name === name);
  if (!f) throw new Error(`no task family ${JSON.stringify(name)}`);
  return f;
}
