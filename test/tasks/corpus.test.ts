import assert from 'node:assert/strict';
import { familyByName } from '../../src/tasks/families.ts';
import { type CorpusItem, checkResponse, getTaskWorld } from '../../src/tasks/index.ts';
import { corpusReport } from '../../src/tasks/stats.ts';

describe('tasks/world: pre-training corpus', function () {
  this.timeout(120000);
  const w = getTaskWorld('arith');
  let corpus: CorpusItem[];
  let report: ReturnType<typeof corpusReport>;
  before(() => {
    corpus = w.pretrainCorpus(1, 30000);
    report = corpusReport(corpus);
  });

  it('is deterministic in (seed, size) and differs between seeds', () => {
    const a = w.pretrainCorpus(5, 300);
    assert.deepEqual(w.pretrainCorpus(5, 300), a);
    assert.deepEqual(w.pretrainCorpus(5, 100), a.slice(0, 100));
    const b = w.pretrainCorpus(6, 300);
    assert.notDeepEqual(b.map((x) => x.response), a.map((x) => x.response));
    assert.deepEqual(w.pretrainCorpus(1, 0), []);
    assert.throws(() => w.pretrainCorpus(1, -1), /non-negative integer/);
  });

  it('pins its first items (a change to the corruption model must change this test)', () => {
    assert.deepEqual(
      w.pretrainCorpus(1, 4).map((x) => `${x.prompt} -> ${x.response} ${x.correct ? 'right' : 'wrong'}`),
      PINNED_CORPUS,
    );
  });

  it('holds every family, arithmetic and out-of-domain, at every level', () => {
    for (const f of [...w.families, 'ood-count', 'ood-format']) {
      for (const l of [1, 2, 3]) assert.ok(report[`${f}/L${l}`].n > 500, `${f}/L${l}`);
    }
    assert.ok(Math.abs(report['ood-count'].n / corpus.length - 0.1) < 0.01);
  });

  it('never contains a benchmark prompt', () => {
    const held = new Set(w.benchmarks.flatMap((b) => b.problems.map((p) => p.prompt)));
    for (const it of corpus) assert.ok(!held.has(it.prompt), it.prompt);
  });

  it('flags correctness with the verifier; every response is its own trace, continued consistently', () => {
    for (const it of corpus) {
      const problem = { id: 'c', family: it.family, level: it.level, prompt: it.prompt, solution: '', answer: familyByName(it.family).answer(it.prompt) };
      assert.equal(w.reward(problem, it.response), it.correct ? 1 : 0, it.response);
      const chk = checkResponse(it, it.response);
      assert.ok(chk.wellFormed, `${it.prompt} -> ${it.response}`);
      if (!it.correct) assert.notEqual(chk.firstDeviation, null);
    }
  });

  it('fits the token bounds', () => {
    for (const it of corpus) {
      assert.ok(it.prompt.length <= w.maxPromptTokens, it.prompt);
      assert.ok(it.response.length + 1 <= w.maxResponseTokens, it.response);
      w.tokenizer.encode(it.prompt + it.response);
    }
  });

  it('is right only sometimes: 30-60% per family, graded by level, 35-55% overall', () => {
    const overall = report.all.correct;
    assert.ok(overall > 0.35 && overall < 0.55, `overall ${overall}`);
    for (const f of [...w.families, 'ood-count', 'ood-format']) {
      const c = report[f].correct;
      assert.ok(c > 0.3 && c < 0.6, `${f}: ${c}`);
      const [l1, l2, l3] = [1, 2, 3].map((l) => report[`${f}/L${l}`].correct);
      assert.ok(l1 < 0.65 && l3 > 0.2, `${f}: L1 ${l1} L3 ${l3}`);
      assert.ok(l1 > l3 + 0.05, `${f}: L1 ${l1} vs L3 ${l3}`);
      assert.ok(l2 <= l1 + 0.02, `${f}: L2 ${l2} vs L1 ${l1}`);
    }
  });

  it('makes wrong traces of high-probability tokens that deviate at a few forks', () => {
    for (const f of [...w.families, 'ood-count', 'ood-format']) {
      const s = report[f];
      // after the first wrong step, nearly every token follows from the prefix (reference solver)
      assert.ok(s.determinedAfterDeviation > 0.9, `${f}: determined after deviation ${s.determinedAfterDeviation}`);
      // a wrong trace has one or two wrong steps, not many
      assert.ok(s.wrongForksPerWrongItem >= 1 && s.wrongForksPerWrongItem < 1.8, `${f}: ${s.wrongForksPerWrongItem}`);
      // an ideal model of the corpus gives the tokens of wrong traces high probability on average;
      // few of them are below 0.5 (the prototype's wrong answers averaged 0.56-0.67)
      assert.ok(s.meanTokenProbWrong > 0.88, `${f}: mean token prob in wrong traces ${s.meanTokenProbWrong}`);
      assert.ok(s.lowProbShareWrong < 0.12, `${f}: share of low-probability tokens in wrong traces ${s.lowProbShareWrong}`);
      // the wrong value at a fork is a plausible one, not a far tail
      assert.ok(s.meanForkProbWrong > 0.35, `${f}: ${s.meanForkProbWrong}`);
    }
  });

  it('has a minority of forking tokens: an ideal model has low mean entropy, concentrated on few tokens', () => {
    const s = report.all;
    assert.ok(s.forkTokenShare > 0.1 && s.forkTokenShare < 0.3, `fork token share ${s.forkTokenShare}`);
    assert.ok(s.idealEntropy > 0.05 && s.idealEntropy < 0.2, `ideal entropy ${s.idealEntropy}`);
    assert.ok(s.highEntropyShare > 0.05 && s.highEntropyShare < 0.25, `tokens above 0.3 nats ${s.highEntropyShare}`);
    assert.ok(s.meanLength >= 15 && s.meanLength <= 40, `mean length ${s.meanLength}`);
  });
});

const PINNED_CORPUS: string[] = [
  '7*4+4 -> 7*4=28;28+4=32;#32 right',
  'rep:dd,2,- -> 1;2;3;#dd-dd-dd wrong', // counted past n
  '6942%5 -> 6%5=1;19%5=4;44%5=3;32%5=2;#2 right', // a wrong remainder that cannot matter: 5 divides 10
  '67+270 -> 7+0=7;6+7=3;0+2=2;#237 wrong', // dropped carry at 6+7
];
