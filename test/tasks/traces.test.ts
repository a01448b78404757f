import assert from 'node:assert/strict';
import { ALL_FAMILIES, familyByName } from '../../src/tasks/families.ts';
import { checkTrace, solutionOf } from '../../src/tasks/trace.ts';
import { ARITH_ALPHABET } from '../../src/tasks/tokenizer.ts';
import { reward } from '../../src/tasks/verify.ts';
import { Rng } from '../../src/util/rng.ts';

function solve(family: string, prompt: string): { solution: string; answer: string } {
  const f = familyByName(family);
  return { solution: solutionOf(f.trace(prompt)), answer: f.answer(prompt) };
}

describe('tasks/families: reference traces on hand-worked examples', () => {
  const cases: [string, string, string, string, number][] = [
    // family, prompt, solution, answer, level
    ['add', '47+38', '7+8=15;4+3+1=8;#85', '85', 1],
    ['add', '347+85', '7+5=12;4+8+1=13;3+0+1=4;#432', '432', 2],
    ['add', '9999+999', '9+9=18;9+9+1=19;9+9+1=19;9+0+1=10;#10998', '10998', 3],
    ['add', '12+34', '2+4=6;1+3=4;#46', '46', 1],
    ['sub', '503-178', '13-8=5;10-7-1=2;5-1-1=3;#325', '325', 2],
    ['sub', '1000-999', '10-9=1;10-9-1=0;10-9-1=0;1-0-1=0;#1', '1', 3],
    ['sub', '25-17', '15-7=8;2-1-1=0;#8', '8', 1],
    ['mul', '347*6', '7*6=42;4*6+4=28;3*6+2=20;#2082', '2082', 2],
    ['mul', '30*8', '0*8=0;3*8=24;#240', '240', 1],
    ['mul', '1234*9', '4*9=36;3*9+3=30;2*9+3=21;1*9+2=11;#11106', '11106', 3],
    ['expr', '7*8+5', '7*8=56;56+5=61;#61', '61', 1],
    ['expr', '7*8+25', '7*8=56;56+25=81;#81', '81', 2],
    ['expr', '7*8-25', '7*8=56;56-25=31;#31', '31', 2],
    ['expr', '3*4+5*6', '3*4=12;5*6=30;12+30=42;#42', '42', 3],
    ['maxmin', 'max:47,82,39', '47<82;82>39;#82', '82', 1],
    ['maxmin', 'max:47,82,39,56', '47<82;82>39;82>56;#82', '82', 2],
    ['maxmin', 'min:47,82,39,56', '47<82;47>39;39<56;#39', '39', 2],
    ['maxmin', 'min:47,82,39,56,31', '47<82;47>39;39<56;39>31;#31', '31', 3],
    ['dsum', 'sum:4820', '4+8=12;12+2=14;14+0=14;#14', '14', 1],
    ['dsum', 'sum:48207', '4+8=12;12+2=14;14+0=14;14+7=21;#21', '21', 2],
    ['mod', '47%6', '4%6=4;47%6=5;#5', '5', 1],
    ['mod', '347%6', '3%6=3;34%6=4;47%6=5;#5', '5', 2],
    ['mod', '9000%7', '9%7=2;20%7=6;60%7=4;40%7=5;#5', '5', 3],
    ['ood-count', 'cnt:b:abcbbac', 'a0;b1;c1;b2;b3;a3;c3;#3', '3', 2],
    ['ood-count', 'cnt:h:abcde', 'a0;b0;c0;d0;e0;#0', '0', 1],
    ['ood-format', 'rep:abc,3,-', '1;2;3;#abc-abc-abc', 'abc-abc-abc', 2],
    ['ood-format', 'rep:ab,2,%', '1;2;#ab%ab', 'ab%ab', 1],
    ['ood-format', 'rep:gh,5,+', '1;2;3;4;5;#gh+gh+gh+gh+gh', 'gh+gh+gh+gh+gh', 3],
  ];
  for (const [family, prompt, solution, answer, level] of cases) {
    it(`${family}: ${prompt} -> ${solution}`, () => {
      const f = familyByName(family);
      assert.ok(f.owns(prompt));
      assert.deepEqual(solve(family, prompt), { solution, answer });
      assert.equal(f.level(prompt), level);
    });
  }

  it('answers agree with plain arithmetic', () => {
    assert.equal(solve('add', '4567+8912').answer, String(4567 + 8912));
    assert.equal(solve('sub', '7339-1100').answer, String(7339 - 1100));
    assert.equal(solve('mul', '3666*7').answer, String(3666 * 7));
    assert.equal(solve('mod', '9863%6').answer, String(9863 % 6));
  });

  it('rejects prompts outside a family (shape, range, leading zeros)', () => {
    assert.equal(familyByName('add').owns('047+38'), false);
    assert.equal(familyByName('add').owns('4567+8'), false); // not a generated shape
    assert.equal(familyByName('sub').owns('17-25'), false);
    assert.equal(familyByName('mul').owns('347*1'), false);
    assert.equal(familyByName('expr').owns('7*8-50'), false); // c must be <= a*b-10
    assert.equal(familyByName('maxmin').owns('max:47,47,39'), false);
    assert.equal(familyByName('dsum').owns('sum:123'), false);
    assert.equal(familyByName('ood-count').owns('cnt:z:abcde'), false);
    assert.equal(familyByName('ood-format').owns('rep:abc,6,-'), false);
    assert.throws(() => familyByName('add').answer('1-2'), /not a prompt of this family/);
  });

  it('every family names levels 1..3 with a positive capacity', () => {
    assert.equal(ALL_FAMILIES.length, 9);
    for (const f of ALL_FAMILIES) for (const l of f.levels) assert.ok(f.capacity(l) > 0, `${f.name} L${l}`);
    // capacities worked by hand
    assert.equal(familyByName('mul').capacity(1), 90 * 8);
    assert.equal(familyByName('sub').capacity(1), 4815); // sum over a = 10..99 of (a - 1)
    assert.equal(familyByName('expr').capacity(3), 8 ** 4);
    assert.equal(familyByName('maxmin').capacity(1), 2 * 90 * 89 * 88);
  });
});

describe('tasks/trace: the reference solver on hand-written responses', () => {
  const add = familyByName('add');
  const check = (prompt: string, response: string, family = add) => checkTrace(family.trace(prompt), response);
  const positions = (b: boolean[]) => b.flatMap((x, i) => (x ? [] : [i]));

  it('a correct solution is consistent everywhere, EOS included', () => {
    const c = check('47+38', '7+8=15;4+3+1=8;#85');
    assert.equal(c.wellFormed, true);
    assert.equal(c.firstDeviation, null);
    assert.equal(c.consistent.length, 19);
    assert.ok(c.consistent.every(Boolean));
    // forks: "15" at 4-5 and "8" at 13
    assert.deepEqual(c.role.flatMap((r, i) => (r === 'fork' ? [i] : [])), [4, 5, 13]);
  });

  it('a slip at one fork, continued consistently, deviates at that character only', () => {
    // 7+8 written as 14: the carry is still 1, the answer is read back as 84
    const c = check('47+38', '7+8=14;4+3+1=8;#84');
    assert.equal(c.wellFormed, true);
    assert.equal(c.firstDeviation, 5);
    assert.deepEqual(positions(c.consistent), [5]);
  });

  it('a dropped carry changes what follows, and what follows is still consistent', () => {
    // "5" for "15": no carry into the tens, so 4+3=7 and the answer 75
    const c = check('47+38', '7+8=5;4+3=7;#75');
    assert.equal(c.wellFormed, true);
    assert.deepEqual(positions(c.consistent), [4]);
  });

  it('an answer that does not follow from the written steps is inconsistent', () => {
    const c = check('47+38', '7+8=14;4+3+1=8;#85');
    assert.equal(c.wellFormed, false);
    assert.equal(c.firstDeviation, 5);
    assert.ok(positions(c.consistent).includes(17)); // the "5" where "4" follows from the trace
  });

  it('extra text after the answer, or a missing final digit, is flagged where it starts', () => {
    const extra = check('47+38', '7+8=15;4+3+1=8;#85x');
    assert.equal(extra.wellFormed, false);
    assert.equal(extra.firstDeviation, 18);
    const short = check('47+38', '7+8=15;4+3+1=8;#8');
    assert.equal(short.wellFormed, false);
    assert.equal(short.firstDeviation, 17); // the solver expected "5" where EOS stands
  });

  it('a value that stops short marks the next character', () => {
    // "5" where "56" is due; the rest follows from the written 5
    const c = check('7*8+25', '7*8=5;5+25=30;#30', familyByName('expr'));
    assert.equal(c.wellFormed, true);
    assert.deepEqual(positions(c.consistent), [5]);
  });

  it('a wrong comparison sign switches the running winner', () => {
    const c = check('max:47,82,39', '47>82;47>39;#47', familyByName('maxmin'));
    assert.equal(c.wellFormed, true);
    assert.deepEqual(positions(c.consistent), [2]);
  });

  it('a wrong remainder carries into the next step', () => {
    // 34%6 written as 3: next step divides 37
    const c = check('347%6', '3%6=3;34%6=3;37%6=1;#1', familyByName('mod'));
    assert.equal(c.wellFormed, true);
    assert.deepEqual(positions(c.consistent), [11]);
  });

  it('format: counting past n and a separator slip', () => {
    const fmt = familyByName('ood-format');
    const over = check('rep:ab,2,-', '1;2;3;#ab-ab-ab', fmt);
    assert.equal(over.wellFormed, true);
    assert.deepEqual(positions(over.consistent), [4]);
    const slip = check('rep:ab,2,-', '1;2;#ab+ab', fmt);
    assert.equal(slip.wellFormed, true);
    assert.deepEqual(positions(slip.consistent), [7]);
  });

  it('garbage and empty responses are judged broken, never throw', () => {
    for (const r of ['', '#', 'zzz', '7+8=', '7+8=;', '7+8=99999999999999999999999;']) {
      const c = check('47+38', r);
      assert.equal(c.wellFormed, false, r);
      assert.notEqual(c.firstDeviation, null);
    }
  });

  it('never throws on random text, and judges mutated solutions as deviating at the mutation or before', () => {
    const rng = Rng.seeded(7);
    for (let k = 0; k < 3000; k++) {
      const f = rng.pick(ALL_FAMILIES);
      const prompt = f.sample(rng, rng.int(1, 3));
      const solution = solutionOf(f.trace(prompt));
      const problem = { id: 'x', family: f.name, prompt, solution, answer: f.answer(prompt) };
      let text = '';
      const len = rng.int(0, 44);
      for (let i = 0; i < len; i++) text += rng.pick([...ARITH_ALPHABET]);
      const c = checkTrace(f.trace(prompt), text);
      assert.equal(c.consistent.length, text.length + 1);
      assert.ok([0, 1].includes(reward(problem, text)));
      // change one character of the solution: the solver notices at or before it
      const i = rng.int(0, solution.length - 1);
      const ch = rng.pick([...ARITH_ALPHABET].filter((x) => x !== solution[i]));
      const mutated = solution.slice(0, i) + ch + solution.slice(i + 1);
      const m = checkTrace(f.trace(prompt), mutated);
      assert.ok(m.firstDeviation !== null && m.firstDeviation <= i, `${prompt}: ${mutated} (${i}) -> ${m.firstDeviation}`);
      assert.equal(checkTrace(f.trace(prompt), solution).firstDeviation, null);
    }
  });
});
