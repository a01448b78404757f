// The "phrase" world's one change to arith's traces (docs/task-world.md, world
// v2): every step separator ";" before the final answer becomes a
// reward-neutral choice among PHRASE_SEPS. Which separators are likely depends
// on the context (family, step index, the character written just before): the
// most likely one has the design's `top` probability and the rest form a Zipf
// tail, so the world has many positions of moderate confidence whose choice
// does not change correctness, and correct traces hold rare tokens. The
// separator changes nothing after it: the inner trace continues from the same
// written values, so a neutral choice is neutral for the model too.
import { Rng } from '../util/rng.ts';
import type { Family } from './family.ts';
import { type ErrorRates, type Fork, type Trace, corruptingChooser, lit } from './trace.ts';

/** The separators: 24 symbols of their own (the arith alphabet has no capitals). */
export const PHRASE_SEPS = 'ABCDEFGHIJKLMNOPQRSTUVWX';

/** Zipf exponent of the tail (ranks 2..24) that shares the rest. */
export const PHRASE_ZIPF = 1.0;

/** Step indices above this share one context (long traces are few). */
const MAX_STEP_CONTEXT = 5;

/** Probabilities by rank: `top`, then a Zipf tail summing to 1 - top. */
export function rankProbs(top: number): readonly number[] {
  const n = PHRASE_SEPS.length - 1;
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** PHRASE_ZIPF);
  const z = w.reduce((a, b) => a + b, 0);
  return Object.freeze([top, ...w.map((x) => ((1 - top) * x) / z)]);
}

/**
 * How a context orders the separators. 'permuted' (world `phrase` v1): a
 * seeded permutation of all 24 per context, so each symbol is the mode of a
 * few contexts and a tail symbol of the rest. 'global-tail' (designs 2, 4
 * and 5; `phrase` v2): the context orders only the first `head` symbols of one global
 * order; the tail ranks are the same symbols in every context (rare everywhere,
 * as an LLM's rare tokens are).
 */
export type PhraseOrder = 'permuted' | 'global-tail';

/** One design of the world (docs/task-world.md): the separators' order and mode probability, the forks' error scale. */
export interface PhraseDesign {
  order: PhraseOrder;
  /** probability of a context's most likely separator */
  top: number;
  /** fork error rates are arith's times this */
  rateScale: number;
  /** 'global-tail': how many of the most likely symbols the context orders */
  head: number;
}

// Designs 1-6 of docs/task-world.md; each is kept so that its table row can be rebuilt.
const DESIGN_1: PhraseDesign = { order: 'permuted', top: 0.75, rateScale: 0.75, head: PHRASE_SEPS.length };
// designs 2 and 4: a tail rare in every context
const DESIGN_4: PhraseDesign = { order: 'global-tail', top: 0.75, rateScale: 0.75, head: 4 };
// design 5: design 4 with more of the entropy at the neutral positions (a
// flatter separator head) and less at the reward-deciding forks
const DESIGN_5: PhraseDesign = { order: 'global-tail', top: 0.6, rateScale: 0.5, head: 4 };
// design 6: design 4 with a context-dependent head of 8 (more moderately
// likely, context-specific separators for Clip-Higher to release)
const DESIGN_6: PhraseDesign = { order: 'global-tail', top: 0.75, rateScale: 0.75, head: 8 };

/**
 * The designs, by world name. `phrase` is the registered world (v2: design
 * 4, the one that shows most of the study); the others are trials of
 * docs/task-world.md (scripts/world2/trial.ts).
 */
export const PHRASE_DESIGNS: Readonly<Record<string, PhraseDesign>> = Object.freeze({
  phrase: DESIGN_4,
  'phrase-v1': DESIGN_1,
  'phrase-global-tail': DESIGN_4,
  'phrase-d5': DESIGN_5,
  'phrase-d6': DESIGN_6,
});

/** The registered world's design. */
export const PHRASE = PHRASE_DESIGNS.phrase;

const dists = new Map<string, ReadonlyArray<readonly [string, number]>>();

/** The context key of a separator: family, step index (capped), last character before it. */
export function phraseContext(family: string, step: number, before: string): string {
  return `${family}/${Math.min(step, MAX_STEP_CONTEXT)}/${before}`;
}

/** The separator distribution of a context, most likely first (the design's order of PHRASE_SEPS, its rank probabilities). */
export function phraseDistribution(context: string, design: PhraseDesign): ReadonlyArray<readonly [string, number]> {
  const key = `${design.order}:${design.top}:${design.head}:${context}`;
  let d = dists.get(key);
  if (!d) {
    let order: string[];
    const probs = rankProbs(design.top);
    if (design.order === 'permuted') order = Rng.derived(0, `phrase/context/${context}`).shuffled([...PHRASE_SEPS]);
    else {
      const global = Rng.derived(0, 'phrase/global-order').shuffled([...PHRASE_SEPS]);
      order = [...Rng.derived(0, `phrase/head/${context}`).shuffled(global.slice(0, design.head)), ...global.slice(design.head)];
    }
    d = Object.freeze(order.map((c, i) => Object.freeze([c, probs[i]] as const)));
    dists.set(key, d);
  }
  return d;
}

function neutralFork(context: string, design: PhraseDesign): Fork {
  const dist = phraseDistribution(context, design);
  return { kind: 'fork', value: dist[0][0], alts: [], hard: false, charset: PHRASE_SEPS, width: 1, neutral: dist };
}

/** Arith's trace of the prompt with each ";" before the answer turned into a neutral separator choice. */
export function* phrasedTrace(fam: Family, prompt: string, design: PhraseDesign = PHRASE): Trace {
  const inner = fam.trace(prompt);
  let r = inner.next('');
  let step = 0;
  let before = '';
  let answered = false;
  while (!r.done) {
    const seg = r.value;
    if (seg.kind === 'fork') {
      const w: string = yield seg;
      if (w.includes('#')) answered = true;
      if (w !== '') before = w[w.length - 1];
      r = inner.next(w);
      continue;
    }
    let buf = '';
    for (const ch of seg.text) {
      if (ch === ';' && !answered) {
        if (buf !== '') {
          yield lit(buf);
          before = buf[buf.length - 1];
          buf = '';
        }
        yield neutralFork(phraseContext(fam.name, step++, before), design);
      } else {
        if (ch === '#') answered = true;
        buf += ch;
      }
    }
    if (buf !== '') {
      yield lit(buf);
      before = buf[buf.length - 1];
    }
    r = inner.next(seg.text);
  }
}

/** Corpus chooser: neutral forks draw from their distribution, the others are corrupted as in arith (rates scaled). */
export function phraseChooser(rng: Rng, rates: ErrorRates, rateScale: number): (f: Fork) => string {
  const corrupt = corruptingChooser(rng, { hard: rates.hard * rateScale, easy: rates.easy * rateScale });
  return (f) => {
    if (!f.neutral) return corrupt(f);
    let u = rng.float();
    for (const [c, p] of f.neutral) {
      u -= p;
      if (u < 0) return c;
    }
    return f.neutral[f.neutral.length - 1][0];
  };
}
