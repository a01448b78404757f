import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.ts';
import { contentHash } from '../../src/util/canonical.ts';
import { familyByName } from '../../src/tasks/families.ts';
import type { Family } from '../../src/tasks/family.ts';
import { type Problem, type TaskWorld, getTaskWorld } from '../../src/tasks/index.ts';
import { buildTaskWorld, drawUnique, trainCounts } from '../../src/tasks/world.ts';

function worldHash(w: TaskWorld): string {
  return contentHash({ name: w.name, version: w.version, vocab: w.tokenizer.vocab, train: w.train, benchmarks: w.benchmarks, families: w.families, validation: w.validation });
}

describe('tasks/world (arith)', () => {
  const w = getTaskWorld('arith');
  const all: Problem[] = [...w.train, ...w.benchmarks.flatMap((b) => b.problems)];

  it('is cached, and built identically every time (hash of two fresh builds)', () => {
    assert.equal(getTaskWorld('arith'), w);
    const a = buildTaskWorld('arith');
    const b = buildTaskWorld('arith');
    assert.notEqual(a, b);
    assert.equal(worldHash(a), worldHash(b));
    assert.equal(worldHash(a), worldHash(w));
  });

  it('pins its exact content (a change to a generator must bump the version and this test)', () => {
    assert.equal(w.version, '1');
    assert.deepEqual({ ...w.train[0] }, PINNED_TRAIN_0);
    assert.deepEqual({ ...w.benchmarks[3].problems[5] }, PINNED_HARD_5);
    assert.equal(worldHash(w), PINNED_HASH);
  });

  it('builds in well under a second of CPU', () => {
    const c0 = process.cpuUsage();
    buildTaskWorld('arith');
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    assert.ok(ms < 1000, `build took ${ms} ms of CPU`);
  });

  it('rejects an unknown world name', () => {
    assert.throws(() => getTaskWorld('nope'), /unknown task world "nope"/);
    assert.throws(() => getTaskWorld('toString'), /unknown task world/);
  });

  it('has >= 10,000 training problems from >= 6 families, ids and prompts unique', () => {
    assert.ok(w.train.length >= 10000, `${w.train.length}`);
    assert.deepEqual(w.families, ['add', 'sub', 'mul', 'expr', 'maxmin', 'dsum', 'mod']);
    assert.deepEqual([...new Set(w.train.map((p) => p.family))].sort(), [...w.families].sort());
    assert.equal(new Set(w.train.map((p) => p.id)).size, w.train.length);
    assert.equal(new Set(w.train.map((p) => p.prompt)).size, w.train.length);
    for (const f of w.families) {
      const ps = w.train.filter((p) => p.family === f);
      assert.ok(ps.length >= 1500, `${f}: ${ps.length}`);
      for (const level of [1, 2, 3]) assert.ok(ps.some((p) => p.level === level), `${f} L${level}`);
    }
  });

  it('sizes each family level from its real capacity', () => {
    // mul level 1 has 720 prompts; the benchmarks hold some, training takes at most 80% of the rest
    const mulL1 = w.train.filter((p) => p.family === 'mul' && p.level === 1).length;
    const held = w.benchmarks.flatMap((b) => b.problems).filter((p) => p.family === 'mul' && p.level === 1).length;
    assert.equal(mulL1, Math.floor(0.8 * (720 - held)));
    assert.deepEqual(trainCounts(familyByName('mul'), [20, 0, 0]), [560, 800, 600]);
    assert.deepEqual(trainCounts(familyByName('add'), [0, 0, 0]), [600, 800, 600]);
  });

  it('never loops forever drawing unique prompts from a small family', () => {
    const tiny: Family = { ...familyByName('add'), name: 'tiny', capacity: () => 3, sample: (rng) => String(rng.int(1, 3)) };
    const taken = new Set<string>();
    assert.deepEqual(drawUnique(Rng.seeded(1), tiny, 1, 3, taken).sort(), ['1', '2', '3']);
    assert.throws(() => drawUnique(Rng.seeded(1), tiny, 1, 1, taken), /could not draw 1 new prompts in 1050 attempts/);
  });

  it('has 5 in-domain benchmarks of graded difficulty (one is id-val) and 2 out-of-domain ones', () => {
    assert.deepEqual(
      w.benchmarks.map((b) => [b.name, b.domain]),
      [['id-easy', 'id'], ['id-val', 'id'], ['id-medium', 'id'], ['id-hard', 'id'], ['id-mixed', 'id'], ['ood-count', 'ood'], ['ood-format', 'ood']],
    );
    assert.equal(w.validation, 'id-val');
    const bench = (name: string) => w.benchmarks.find((b) => b.name === name)!;
    const meanLevel = (name: string) => bench(name).problems.reduce((t, p) => t + (p.level ?? NaN), 0) / bench(name).problems.length;
    assert.equal(meanLevel('id-easy'), 1);
    assert.equal(meanLevel('id-medium'), 2);
    assert.equal(meanLevel('id-hard'), 3);
    const meanLen = (name: string) => bench(name).problems.reduce((t, p) => t + p.solution.length, 0) / bench(name).problems.length;
    assert.ok(meanLen('id-easy') < meanLen('id-medium') && meanLen('id-medium') < meanLen('id-hard'));
    for (const b of w.benchmarks) {
      assert.ok(b.problems.length >= 64 && b.problems.length <= 200, `${b.name}: ${b.problems.length}`);
      assert.ok(b.description.length > 0);
      if (b.domain === 'id') assert.deepEqual([...new Set(b.problems.map((p) => p.family))].sort(), [...w.families].sort(), b.name);
      else assert.deepEqual([...new Set(b.problems.map((p) => p.family))], [b.name]);
    }
  });

  it('keeps benchmarks disjoint from training and from each other (by prompt), ids unique', () => {
    const trainPrompts = new Set(w.train.map((p) => p.prompt));
    const seen = new Set<string>();
    for (const b of w.benchmarks) {
      for (const p of b.problems) {
        assert.ok(!trainPrompts.has(p.prompt), `${b.name} ${p.prompt} is in train`);
        assert.ok(!seen.has(p.prompt), `${p.prompt} twice`);
        seen.add(p.prompt);
      }
    }
    assert.equal(new Set(all.map((p) => p.id)).size, all.length);
  });

  it('scores every reference solution 1 and its answer is the family answer', () => {
    for (const p of all) {
      assert.equal(w.reward(p, p.solution), 1, p.id);
      assert.equal(p.answer, familyByName(p.family).answer(p.prompt));
      assert.equal(p.level, familyByName(p.family).level(p.prompt));
      const span = w.answerSpan(p.solution)!;
      assert.equal(p.solution.slice(span[0], span[1]), p.answer);
    }
  });

  it('fits every prompt and solution in the token bounds and the vocabulary', () => {
    assert.equal(w.maxPromptTokens, 19);
    assert.equal(w.maxResponseTokens, 44);
    assert.ok(1 + w.maxPromptTokens + w.maxResponseTokens <= 64);
    let maxP = 0;
    let maxR = 0;
    for (const p of all) {
      maxP = Math.max(maxP, w.tokenizer.encode(p.prompt).length);
      maxR = Math.max(maxR, w.tokenizer.encode(p.solution).length + 1);
    }
    assert.ok(maxP <= w.maxPromptTokens, `prompt ${maxP}`);
    assert.ok(maxR <= w.maxResponseTokens, `response ${maxR}`);
  });

  it('writes responses as traces: most 15-40 tokens long', () => {
    const lens = w.train.map((p) => p.solution.length + 1).sort((a, b) => a - b);
    const q = (f: number) => lens[Math.floor(f * (lens.length - 1))];
    assert.ok(q(0.1) >= 15 && q(0.9) <= 40, `p10 ${q(0.1)} p90 ${q(0.9)}`);
  });

  it('freezes its problems so no caller can change the shared world', () => {
    assert.throws(() => {
      (w.train[0] as { answer: string }).answer = 'x';
    }, TypeError);
    assert.throws(() => {
      (w.train as Problem[]).push(w.train[0]);
    }, TypeError);
  });
});

// Pinned content of version 1 (see the test above).
const PINNED_TRAIN_0 = { id: 'maxmin1-000333', family: 'maxmin', level: 1, prompt: 'min:70,14,17', solution: '70>14;14<17;#14', answer: '14' };
const PINNED_HARD_5 = { id: 'id-hard-0005', family: 'sub', level: 3, prompt: '6137-1452', solution: '7-2=5;13-5=8;11-4-1=6;6-1-1=4;#4685', answer: '4685' };
const PINNED_HASH = '61085a3596f1b695dd4b5a5a54d2c8086dcfd992860f6812b4e4340774f324a8';
