// Entropy readings over numbers (the tensor versions live in src/grpo/).
//  - tokenEntropyFromLogits: H = logsumexp(z) - sum softmax(z) z, z = logits / T
//    (SPEC 4), a plain-number reference for hand-checked tests.
//  - promptEntropy: the token-mean, over all prompt tokens of all prompts
//    pooled, of the per-token entropies it is given (SPEC 10).
//  - entropyRatio: a value relative to the base model's value.
import { meanOrNaN } from './check.ts';

export function tokenEntropyFromLogits(logits: readonly number[], temperature = 1): number {
  if (logits.length === 0) throw new RangeError('entropy of an empty distribution');
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const z = logits.map((x) => x / temperature);
  const m = Math.max(...z);
  let sum = 0;
  for (const x of z) sum += Math.exp(x - m);
  const lse = m + Math.log(sum);
  let expected = 0;
  for (const x of z) {
    const p = Math.exp(x - lse);
    if (p > 0) expected += p * x;
  }
  return lse - expected;
}

/**
 * Token-mean of per-token entropies pooled over all prompts (a long prompt
 * weighs more than a short one, as in SPEC 4's token-mean). NaN when there
 * are no tokens. Which positions count as "prompt tokens" is the caller's
 * choice; it passes one entropy per counted position.
 */
export function promptEntropy(perPrompt: readonly (readonly number[])[]): number {
  return meanOrNaN(perPrompt.flat());
}

/** value / base; NaN when base is not a positive finite number. */
export function entropyRatio(value: number, base: number): number {
  return Number.isFinite(base) && base > 0 ? value / base : NaN;
}
