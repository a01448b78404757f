// Running-result families of the arith world (in-domain): expr, maxmin and
// dsum, each a chain of steps where the next step starts from the WRITTEN
// result of the one before (trace.ts). Trace formats, with examples:
// docs/task-world.md.
import { charFork, lit, num, numFork } from './trace.ts';
import { checkLevel, INT, family } from './family.ts';

const EXPR_TWO_RE = /^([2-9])\*([2-9])\+([2-9])\*([2-9])$/;
const EXPR_LIN_RE = new RegExp(`^([2-9])\\*([2-9])([+-])${INT}$`);

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

