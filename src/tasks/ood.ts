// The out-of-domain families of the arith world: letter counting and format
// following, with verifiable answers but none of the arithmetic of the
// training set (trace.ts). Trace formats, with examples: docs/task-world.md.
import { DIGITS, charFork, lit, num, numFork } from './trace.ts';
import { checkLevel, family } from './family.ts';

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

