import assert from 'node:assert/strict';
import { contentHash } from '../../src/util/canonical.ts';
import { type Problem, type TaskWorld, getTaskWorld } from '../../src/tasks/index.ts';
import { buildTaskWorld, checkPhraseResponse } from '../../src/tasks/world.ts';
import { PHRASE, PHRASE_DESIGNS, PHRASE_SEPS, phraseContext, phraseDistribution, rankProbs } from '../../src/tasks/phrase.ts';

function worldHash(w: TaskWorld): string {
  return contentHash({ name: w.name, version: w.version, vocab: w.tokenizer.vocab, train: w.train, benchmarks: w.benchmarks, families: w.families, validation: w.validation });
}

/** The separators of a response: the neutral positions, by the reference solver. */
function neutralPositions(p: Problem, response: string): number[] {
  return checkPhraseResponse(p, response).role.flatMap((r, i) => (r === 'neutral' ? [i] : []));
}

describe('tasks/world (phrase, world v2)', () => {
  const w = getTaskWorld('phrase');
  const arith = getTaskWorld('arith');

  it('is cached, built identically every time, and pins its content (bump PHRASE_VERSION with a change)', () => {
    assert.equal(getTaskWorld('phrase'), w);
    assert.equal(worldHash(buildTaskWorld('phrase')), worldHash(w));
    assert.equal(w.version, '2');
    assert.deepEqual({ ...w.train[0] }, PINNED_TRAIN_0);
    assert.equal(worldHash(w), PINNED_HASH);
    assert.equal(contentHash(w.pretrainCorpus(1, 50)), PINNED_CORPUS_50);
  });

  it("has arith's problems, split and answers; each solution is arith's with its step separators chosen", () => {
    assert.deepEqual(w.families, arith.families);
    assert.equal(w.validation, 'id-val');
    const pairs: [Problem, Problem][] = [
      ...w.train.map((p, i): [Problem, Problem] => [p, arith.train[i]]),
      ...w.benchmarks.flatMap((b, j) => b.problems.map((p, i): [Problem, Problem] => [p, arith.benchmarks[j].problems[i]])),
    ];
    for (const [p, a] of pairs) {
      assert.deepEqual([p.id, p.prompt, p.answer, p.family, p.level], [a.id, a.prompt, a.answer, a.family, a.level]);
      const hash = a.solution.indexOf('#');
      // ";" before the answer becomes one separator symbol; nothing else changes
      const expect = a.solution.slice(0, hash).replace(/;/g, '?') + a.solution.slice(hash);
      assert.equal(p.solution.length, a.solution.length);
      for (let i = 0; i < p.solution.length; i++) {
        if (expect[i] === '?') assert.ok(PHRASE_SEPS.includes(p.solution[i]), `${p.id} ${p.solution}`);
        else assert.equal(p.solution[i], expect[i], `${p.id} ${p.solution}`);
      }
      assert.equal(w.reward(p, p.solution), 1);
    }
    assert.deepEqual(w.benchmarks.map((b) => [b.name, b.domain, b.problems.length]), arith.benchmarks.map((b) => [b.name, b.domain, b.problems.length]));
  });

  it('tokenizes arith alphabet plus the 24 separators', () => {
    assert.equal(w.tokenizer.size, arith.tokenizer.size + 24);
    assert.deepEqual(w.tokenizer.encode('1A#2X').map((id) => w.tokenizer.vocab[id]), ['1', 'A', '#', '2', 'X']);
  });

  it('gives a context a mode and a Zipf tail over the rest; v1 (permuted) lets every context order all 24 symbols', () => {
    // every design's mode probability
    for (const top of new Set(Object.values(PHRASE_DESIGNS).map((d) => d.top))) {
      const probs = rankProbs(top);
      assert.equal(probs.length, 24);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      assert.equal(probs[0], top);
      // Zipf(1) over the tail: its first symbol has twice the second's probability and 23 times the last's
      assert.ok(Math.abs(probs[1] / probs[2] - 2) < 1e-12);
      assert.ok(Math.abs(probs[1] / probs[23] - 23) < 1e-9);
    }
    assert.equal(phraseContext('add', 9, '2'), phraseContext('add', 5, '2'));
    const v1 = PHRASE_DESIGNS['phrase-v1'];
    const d = phraseDistribution(phraseContext('add', 0, '2'), v1);
    assert.deepEqual(d.map(([c]) => c).sort().join(''), PHRASE_SEPS);
    assert.deepEqual(d.map(([, p]) => p), [...rankProbs(0.75)]);
    // context-dependent: the modes of 100 contexts are not one symbol
    const modes = new Set<string>();
    for (const f of w.families) for (let k = 0; k < 5; k++) for (const c of '0123456789') modes.add(phraseDistribution(phraseContext(f, k, c), v1)[0][0]);
    assert.ok(modes.size >= 20, `${modes.size} distinct modes`);
  });

  for (const [name, top, head] of [['phrase', 0.75, 4], ['phrase-d5', 0.6, 4], ['phrase-d6', 0.75, 8]] as const)
    it(`'global-tail' order (${name}): contexts reorder only the ${head} head symbols; the tail is the same everywhere`, () => {
      const design = PHRASE_DESIGNS[name];
      assert.equal(design.order, 'global-tail');
      assert.equal(design.head, head);
      const a = phraseDistribution(phraseContext('add', 0, '2'), design).map(([c]) => c);
      const heads = new Set<string>();
      for (const c of '0123456789') {
        const d = phraseDistribution(phraseContext('mul', 1, c), design);
        assert.deepEqual(d.map(([x]) => x).slice(head), a.slice(head));
        assert.deepEqual(d.map(([, p]) => p), [...rankProbs(top)]);
        assert.deepEqual(d.slice(0, head).map(([x]) => x).sort(), a.slice(0, head).sort());
        heads.add(d[0][0]);
      }
      assert.ok(heads.size >= 3, `${heads.size} distinct modes`);
      assert.deepEqual([...a].sort().join(''), PHRASE_SEPS);
    });

  it('keeps the separators neutral: any separator at any neutral position leaves the reward and the rest of the trace', () => {
    const probs = w.train.slice(0, 200);
    for (const p of probs) {
      const pos = neutralPositions(p, p.solution);
      assert.ok(pos.length >= 1, p.solution);
      for (const [k, i] of pos.entries()) {
        const s = PHRASE_SEPS[(k * 7 + i) % 24];
        const r = p.solution.slice(0, i) + s + p.solution.slice(i + 1);
        const chk = checkPhraseResponse(p, r);
        assert.ok(chk.wellFormed && chk.firstDeviation === null, r);
        assert.equal(w.reward(p, r), 1);
      }
      // a non-separator there breaks the trace, as ";" would
      const bad = p.solution.slice(0, pos[0]) + ';' + p.solution.slice(pos[0] + 1);
      assert.equal(checkPhraseResponse(p, bad).wellFormed, false);
    }
  });

  it('names every position of a response: neutral separators, reward-deciding forks, the rest (EOS slot included)', () => {
    const p = w.train.find((q) => q.prompt === '347+85') ?? { ...w.train[0], family: 'add', prompt: '347+85', answer: '432', solution: '' };
    const resp = '7+5=12A4+8+1=13B3+0+1=4C#432';
    const cls = w.positionClasses!(p as Problem, resp);
    assert.equal(cls.length, resp.length + 1);
    assert.equal(cls.map((c) => (c === 'neutral' ? 'n' : c === 'fork' ? 'f' : '.')).join(''), '....ffn......ffn......fn.....');
    // a wrong fork is still a fork, and the trace goes on consistently
    const wrong = checkPhraseResponse(p, '7+5=2A4+8=12B3+0+1=4C#422');
    assert.equal(wrong.firstDeviation, 4);
  });

  it('draws corpus separators from their context distribution, and corrupts forks less than arith', () => {
    const items = w.pretrainCorpus(2, 3000);
    assert.deepEqual(w.pretrainCorpus(2, 20), items.slice(0, 20));
    let mode = 0;
    let n = 0;
    const seen = new Set<string>();
    for (const it of items) {
      const chk = checkPhraseResponse(it, it.response);
      assert.ok(chk.wellFormed, it.response);
      for (const f of chk.forks)
        if (f.fork.neutral) {
          n++;
          seen.add(f.written);
          if (f.written === f.fork.value) mode++;
        }
    }
    assert.ok(Math.abs(mode / n - PHRASE.top) < 0.02, `mode share ${mode / n} over ${n}`);
    assert.equal(seen.size, 24);
    const correct = items.filter((it) => it.correct).length / items.length;
    const arithCorrect = arith.pretrainCorpus(2, 3000).filter((it) => it.correct).length / 3000;
    assert.ok(correct > arithCorrect + 0.05 && correct < 0.75, `phrase ${correct} vs arith ${arithCorrect}`);
  });
});

const PINNED_HASH = '22bd31dbc79d2c0fe9c6047c29e38859d1ed5b28ea8c6332e6da9bd28c82df78';
const PINNED_CORPUS_50 = '29161d4e82d8375df4c2aa1d8a1ff40666b53b01347d24c710b5b77d5369cb8a';
const PINNED_TRAIN_0 = { id: 'maxmin1-000333', family: 'maxmin', level: 1, prompt: 'min:70,14,17', solution: '70>14W14<17W#14', answer: '14' };
