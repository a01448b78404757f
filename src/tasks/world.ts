// The "arith" task world: training set, benchmarks, verifier and the
// pre-training corpus, all generated from the families in families.ts with
// seeded streams, so every call and every process builds the same world.
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { ALL_FAMILIES, ARITH_FAMILIES, OOD_FAMILIES, familyByName } from './families.ts';
import type { Family } from './family.ts';
import { ARITH_ALPHABET, charTokenizer } from './tokenizer.ts';
import { type TraceCheck, checkTrace, corruptingChooser, renderTrace, solutionOf } from './trace.ts';
import { PHRASE, PHRASE_DESIGNS, PHRASE_SEPS, type PhraseDesign, phraseChooser, phrasedTrace } from './phrase.ts';
import type { Benchmark, CorpusItem, Problem, TaskWorld } from './types.ts';
import { answerSpan, finalAnswer, reward } from './verify.ts';

export const ARITH_VERSION = '1';

/** World v2 (docs/task-world.md): arith's problems with reward-neutral, context-dependent step separators. */
export const PHRASE_VERSION = '2';

/** Caps that every prompt / response (EOS included) of the world fits: BOS + 19 + 44 = a 64-token context. */
export const MAX_PROMPT_TOKENS = 19;
export const MAX_RESPONSE_TOKENS = 44;

/** Share of levels 1, 2, 3 in the training set, id-val and the corpus. */
export const LEVEL_MIX = [0.3, 0.4, 0.3] as const;

/** Training problems per family before capacity caps, split by LEVEL_MIX. */
export const TRAIN_PER_FAMILY = 2000;

/** At most this fraction of the prompts a level has left after the benchmarks goes to training. */
const MAX_FILL = 0.8;

/** Corpus share of each family: the arithmetic families 80% together, each OOD family 10%. */
export const CORPUS_MIX: ReadonlyArray<[Family, number]> = [
  ...ARITH_FAMILIES.map((f): [Family, number] => [f, 0.8 / ARITH_FAMILIES.length]),
  ...OOD_FAMILIES.map((f): [Family, number] => [f, 0.2 / OOD_FAMILIES.length]),
];

interface BenchSpec {
  name: string;
  domain: 'id' | 'ood';
  description: string;
  families: readonly Family[];
  /** questions per family at levels 1, 2, 3 */
  perLevel: [number, number, number];
}

export const BENCH_SPECS: readonly BenchSpec[] = [
  { name: 'id-easy', domain: 'id', description: 'level 1 of every arithmetic family (fewest digits / steps)', families: ARITH_FAMILIES, perLevel: [16, 0, 0] },
  { name: 'id-val', domain: 'id', description: 'validation: the training mix of levels (30/40/30), every arithmetic family', families: ARITH_FAMILIES, perLevel: [5, 8, 5] },
  { name: 'id-medium', domain: 'id', description: 'level 2 of every arithmetic family', families: ARITH_FAMILIES, perLevel: [0, 16, 0] },
  { name: 'id-hard', domain: 'id', description: 'level 3 of every arithmetic family (most digits / steps)', families: ARITH_FAMILIES, perLevel: [0, 0, 16] },
  { name: 'id-mixed', domain: 'id', description: 'every arithmetic family, levels 1-3 in equal shares', families: ARITH_FAMILIES, perLevel: [7, 7, 7] },
  { name: 'ood-count', domain: 'ood', description: 'count a letter in a word (algorithmic string task, running-count trace)', families: [OOD_FAMILIES[0]], perLevel: [43, 43, 42] },
  { name: 'ood-format', domain: 'ood', description: 'format following: repeat a word n times with a given separator', families: [OOD_FAMILIES[1]], perLevel: [43, 43, 42] },
];

export const VALIDATION = 'id-val';

/** Draws `count` prompts not in `taken` (and adds them); bounded: throws rather than loop forever. */
export function drawUnique(rng: Rng, fam: Family, level: number, count: number, taken: Set<string>): string[] {
  const out: string[] = [];
  const maxAttempts = 50 * count + 1000;
  let attempts = 0;
  while (out.length < count) {
    if (++attempts > maxAttempts) {
      throw new Error(`${fam.name} level ${level}: could not draw ${count} new prompts in ${maxAttempts} attempts (capacity ${fam.capacity(level)}, ${taken.size} taken)`);
    }
    const p = fam.sample(rng, level);
    if (taken.has(p)) continue;
    taken.add(p);
    out.push(p);
  }
  return out;
}

function makeProblem(id: string, fam: Family, prompt: string): Problem {
  const answer = fam.answer(prompt);
  const solution = solutionOf(fam.trace(prompt));
  if (!solution.endsWith(`#${answer}`)) throw new Error(`${fam.name}: solution of ${prompt} does not end in #${answer}: ${solution}`);
  return Object.freeze({ id, family: fam.name, level: fam.level(prompt), prompt, solution, answer });
}

function pickWeighted<T>(rng: Rng, items: ReadonlyArray<[T, number]>): T {
  let u = rng.float() * items.reduce((t, [, w]) => t + w, 0);
  for (const [x, w] of items) {
    u -= w;
    if (u < 0) return x;
  }
  return items[items.length - 1][0];
}

function pickLevel(rng: Rng): number {
  return pickWeighted(rng, [[1, LEVEL_MIX[0]], [2, LEVEL_MIX[1]], [3, LEVEL_MIX[2]]]);
}

/** Training problems per level for a family, given what the benchmarks hold. */
export function trainCounts(fam: Family, heldPerLevel: readonly number[]): number[] {
  return [1, 2, 3].map((level, i) => {
    const want = Math.round(TRAIN_PER_FAMILY * LEVEL_MIX[i]);
    const room = Math.floor(MAX_FILL * (fam.capacity(level) - heldPerLevel[i]));
    return Math.max(0, Math.min(want, room));
  });
}

function buildBenchmarks(held: Set<string>, heldCount: Map<string, number[]>): Benchmark[] {
  return BENCH_SPECS.map((spec) => {
    const rng = Rng.derived(0, `arith/bench/${spec.name}`);
    const problems: Problem[] = [];
    for (const fam of spec.families) {
      spec.perLevel.forEach((count, i) => {
        const prompts = drawUnique(rng, fam, i + 1, count, held);
        const hc = heldCount.get(fam.name) ?? [0, 0, 0];
        hc[i] += prompts.length;
        heldCount.set(fam.name, hc);
        for (const p of prompts) problems.push(makeProblem('', fam, p));
      });
    }
    const ordered = rng.shuffled(problems).map((p, i) => Object.freeze({ ...p, id: `${spec.name}-${String(i).padStart(4, '0')}` }));
    return Object.freeze({ name: spec.name, domain: spec.domain, description: spec.description, problems: Object.freeze(ordered) as Problem[] });
  });
}

function buildTrain(held: Set<string>, heldCount: Map<string, number[]>): Problem[] {
  const taken = new Set(held);
  const out: Problem[] = [];
  for (const fam of ARITH_FAMILIES) {
    const rng = Rng.derived(0, `arith/train/${fam.name}`);
    const counts = trainCounts(fam, heldCount.get(fam.name) ?? [0, 0, 0]);
    let seq = 0;
    counts.forEach((count, i) => {
      for (const p of drawUnique(rng, fam, i + 1, count, taken)) {
        out.push(makeProblem(`${fam.name}${i + 1}-${String(seq++).padStart(6, '0')}`, fam, p));
      }
    });
  }
  return Rng.derived(0, 'arith/train/order').shuffled(out);
}

/** A corpus item's family, level and prompt: never a benchmark prompt (benchmarks hold a small share of every level). */
function corpusPrompt(rng: Rng, held: ReadonlySet<string>): { fam: Family; level: number; prompt: string } {
  const fam = pickWeighted(rng, CORPUS_MIX);
  const level = pickLevel(rng);
  let prompt = fam.sample(rng, level);
  for (let tries = 0; held.has(prompt); tries++) {
    if (tries > 1000) throw new Error(`${fam.name} level ${level}: corpus cannot avoid the benchmarks`);
    prompt = fam.sample(rng, level);
  }
  return { fam, level, prompt };
}

function checkCorpusSize(size: number): void {
  if (!Number.isInteger(size) || size < 0) throw new Error(`pretrainCorpus: size must be a non-negative integer, got ${size}`);
}

function buildCorpus(held: ReadonlySet<string>, seed: number, size: number): CorpusItem[] {
  checkCorpusSize(size);
  const rng = Rng.derived(seed, 'arith/corpus');
  const items: CorpusItem[] = [];
  for (let k = 0; k < size; k++) {
    const { fam, level, prompt } = corpusPrompt(rng, held);
    let response = renderTrace(fam.trace(prompt), corruptingChooser(rng, fam.rates)).text;
    // cannot happen with the shipped families (tests check the bound); kept so a response never exceeds the cap
    if (response.length + 1 > MAX_RESPONSE_TOKENS) response = solutionOf(fam.trace(prompt));
    items.push({ prompt, response, correct: finalAnswer(response) === fam.answer(prompt), family: fam.name, level });
  }
  return items;
}

function buildArith(): TaskWorld {
  const held = new Set<string>();
  const heldCount = new Map<string, number[]>();
  const benchmarks = buildBenchmarks(held, heldCount);
  const train = buildTrain(held, heldCount);
  const frozenHeld: ReadonlySet<string> = held;
  return Object.freeze({
    name: 'arith',
    version: ARITH_VERSION,
    tokenizer: charTokenizer(ARITH_ALPHABET),
    train: Object.freeze(train) as Problem[],
    families: ARITH_FAMILIES.map((f) => f.name),
    benchmarks: Object.freeze(benchmarks) as Benchmark[],
    validation: VALIDATION,
    reward,
    answerSpan,
    pretrainCorpus: (seed: number, size: number) => buildCorpus(frozenHeld, seed, size),
    maxPromptTokens: MAX_PROMPT_TOKENS,
    maxResponseTokens: MAX_RESPONSE_TOKENS,
  });
}

// ---------------------------------------------------------------- phrase
// The same prompts, split and benchmarks as arith (so the two worlds' numbers
// compare problem for problem); traces whose step separators are neutral
// choices (phrase.ts); a corpus of its own stream with arith's fork error
// rates scaled by the design's rateScale.

function phraseProblem(p: Problem, design: PhraseDesign): Problem {
  const solution = solutionOf(phrasedTrace(familyByName(p.family), p.prompt, design));
  if (!solution.endsWith(`#${p.answer}`)) throw new Error(`phrase: solution of ${p.prompt} does not end in #${p.answer}: ${solution}`);
  return Object.freeze({ ...p, solution });
}

function buildPhraseCorpus(held: ReadonlySet<string>, seed: number, size: number, design: PhraseDesign): CorpusItem[] {
  checkCorpusSize(size);
  const rng = Rng.derived(seed, 'phrase/corpus');
  const items: CorpusItem[] = [];
  for (let k = 0; k < size; k++) {
    const { fam, level, prompt } = corpusPrompt(rng, held);
    // a separator replaces a ";" one for one, so arith's length bound holds
    const response = renderTrace(phrasedTrace(fam, prompt, design), phraseChooser(rng, fam.rates, design.rateScale)).text;
    items.push({ prompt, response, correct: finalAnswer(response) === fam.answer(prompt), family: fam.name, level });
  }
  return items;
}

/** The phrase world's reference solver on a response (neutral separators accept any value). */
export function checkPhraseResponse(item: { family: string; prompt: string }, response: string, design: PhraseDesign = PHRASE): TraceCheck {
  return checkTrace(phrasedTrace(familyOf(item), item.prompt, design), response);
}

/**
 * The phrase world of a design of PHRASE_DESIGNS: `phrase` is the registered
 * one, the others trials of docs/task-world.md (scripts/world2/trial.ts).
 */
export function buildPhrase(name = 'phrase'): TaskWorld {
  const design = PHRASE_DESIGNS[name];
  if (!design) throw new Error(`no phrase design "${name}" (${Object.keys(PHRASE_DESIGNS).join(', ')})`);
  const arith = getTaskWorld('arith');
  const held = new Set<string>();
  for (const b of arith.benchmarks) for (const p of b.problems) held.add(p.prompt);
  const benchmarks = arith.benchmarks.map((b) => Object.freeze({ ...b, problems: Object.freeze(b.problems.map((p) => phraseProblem(p, design))) as Problem[] }));
  return Object.freeze({
    name,
    version: PHRASE_VERSION,
    tokenizer: charTokenizer(ARITH_ALPHABET + PHRASE_SEPS),
    train: Object.freeze(arith.train.map((p) => phraseProblem(p, design))) as Problem[],
    families: arith.families,
    benchmarks: Object.freeze(benchmarks) as Benchmark[],
    validation: VALIDATION,
    reward,
    answerSpan,
    pretrainCorpus: (seed: number, size: number) => buildPhraseCorpus(held, seed, size, design),
    maxPromptTokens: MAX_PROMPT_TOKENS,
    maxResponseTokens: MAX_RESPONSE_TOKENS,
    // 'neutral' (a separator choice), 'fork' (a reward-deciding step), 'lit' (the rest, EOS included); after a break in the trace: 'lit'
    positionClasses: (p: Problem, response: string) => checkPhraseResponse(p, response, design).role.slice(),
  });
}

const cache = new Map<string, TaskWorld>();
const BUILDERS: Record<string, () => TaskWorld> = { arith: buildArith, phrase: () => buildPhrase() };

export function taskWorldNames(): string[] {
  return Object.keys(BUILDERS);
}

/** Builds a world afresh (no cache): for tests and tools. */
export function buildTaskWorld(name: string): TaskWorld {
  const build = Object.hasOwn(BUILDERS, name) ? BUILDERS[name] : undefined;
  if (!build) throw new UserError(`unknown task world ${JSON.stringify(name)} (known: ${taskWorldNames().join(', ')})`);
  return build();
}

/** The named world, built once per process. */
export function getTaskWorld(name: string): TaskWorld {
  let w = cache.get(name);
  if (!w) {
    w = buildTaskWorld(name);
    cache.set(name, w);
  }
  return w;
}

/** The family a problem (or corpus item) belongs to. */
export function familyOf(item: { family: string }): Family {
  return familyByName(item.family);
}

/**
 * The reference solver's verdict on a response, character by character (see
 * TraceCheck): which characters are fork steps, which follow from what came
 * before, where the first wrong step is.
 */
export function checkResponse(item: { family: string; prompt: string }, response: string): TraceCheck {
  return checkTrace(familyOf(item).trace(item.prompt), response);
}

export { ALL_FAMILIES };
