// Column arithmetic families of the arith world (in-domain): add, sub, mul and
// mod, each worked digit by digit the way it is written on paper, one fork per
// column (trace.ts). Trace formats, with examples: docs/task-world.md.
import { lit, num, numFork } from './trace.ts';
import { digitsLE, ndigits, stripZeros, intIn, checkLevel, INT, family } from './family.ts';

const ADD_RE = new RegExp(`^${INT}\\+${INT}$`);
const SUB_RE = new RegExp(`^${INT}-${INT}$`);
const MUL_RE = new RegExp(`^${INT}\\*([2-9])$`);
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

