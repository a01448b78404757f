// Rollouts, shared by the trainer (a batch's groups) and the evaluator
// (benchmarks, probes): a problem's prompt encoded, responses sampled from the
// policy in memory-bounded chunks, each response's verifiable reward, and the
// token-mean entropy of a set of responses.
import type { JobConfig } from '../config/job.ts';
import type { Problem, TaskWorld } from '../tasks/index.ts';
import type { Rng } from '../util/rng.ts';
import { generate, type Generation } from '../nn/sampling.ts';
import type { Model } from '../nn/model/index.ts';
import { yieldToEventLoop } from '../util/tick.ts';

/** Token-mean entropy over responses, and over their final-answer tokens only. */
export function responseEntropy(world: TaskWorld, gens: Generation[]): { all: number; answer: number | null } {
  let sum = 0;
  let n = 0;
  let aSum = 0;
  let aN = 0;
  for (const g of gens) {
    for (let t = 0; t < g.entropy.length; t++) {
      sum += g.entropy[t];
      n++;
    }
    // The tokenizer is character-level: character i of the text is response token i.
    const span = world.answerSpan(g.text);
    if (span)
      for (let t = span[0]; t < span[1] && t < g.entropy.length; t++) {
        aSum += g.entropy[t];
        aN++;
      }
  }
  return { all: n ? sum / n : NaN, answer: aN ? aSum / aN : null };
}

/** Verifiable reward of one generated response (no EOS within budget = 0). */
export function rewardOf(world: TaskWorld, p: Problem, g: Generation): number {
  return g.finished ? world.reward(p, g.text) : 0;
}

export function encodePrompt(world: TaskWorld, p: Problem): number[] {
  return [world.tokenizer.bos, ...world.tokenizer.encode(p.prompt)];
}

/** Sample `samples` responses for every prompt, in chunks that bound memory. */
export function sampleAll(
  model: Model,
  world: TaskWorld,
  prompts: Problem[],
  samples: number,
  cfg: JobConfig['rollout'],
  rng: Rng,
): Generation[] {
  const out: Generation[] = [];
  for (const c of sampleChunks(model, world, prompts, samples, cfg, rng)) out.push(...c);
  return out;
}

/** sampleAll for long evaluations: the same draws, with the event loop let in between chunks. */
export async function sampleAllYielding(...args: Parameters<typeof sampleAll>): Promise<Generation[]> {
  const out: Generation[] = [];
  for (const c of sampleChunks(...args)) {
    out.push(...c);
    await yieldToEventLoop();
  }
  return out;
}

/** The generations of sampleAll, 512 sequences at a time (bounded memory), in order. */
function* sampleChunks(model: Model, world: TaskWorld, prompts: Problem[], samples: number, cfg: JobConfig['rollout'], rng: Rng): Generator<Generation[]> {
  const ids = prompts.flatMap((p) => Array.from({ length: samples }, () => encodePrompt(world, p)));
  const chunk = 512;
  for (let i = 0; i < ids.length; i += chunk)
    yield generate(model, ids.slice(i, i + chunk), {
      temperature: cfg.temperature,
      topP: cfg.top_p,
      maxNewTokens: cfg.max_new_tokens,
      eos: world.tokenizer.eos,
      rng,
      decode: (t) => world.tokenizer.decode(t),
    });
}
