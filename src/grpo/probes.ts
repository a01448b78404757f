// Theory probes (SPEC 9): logged, never used in the loss. Pure functions over
// flat arrays of one step's response tokens (mask > 0 selects them).
//
// The study's Section 7 reads the entropy change of a policy-gradient step as
// minus a covariance between log-probability and (a function of) advantage:
// natural-gradient form Cov(logp, A), plain policy-gradient form
// Cov(logp, p * A) with p = exp(logp). Tables report Spearman correlations
// between -dH (entropy change to the NEXT step) and each covariance.
//
// Covariances are population covariances (1/N) over the valid tokens, the
// same centring as SPEC 6's cov_t. The trainer passes the rollout policy's
// log-probs (oldLogp) and the advantage that enters the loss.
import { tokenCovariances } from './losses.ts';

/** Cov(x, y) = mean((x - mean x)(y - mean y)) over tokens with mask > 0; null with no tokens. */
export function maskedCovariance(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  mask: ArrayLike<number>,
): number | null {
  if (x.length !== mask.length || y.length !== mask.length)
    throw new Error(`maskedCovariance: lengths ${x.length}, ${y.length}, mask ${mask.length}`);
  const cov = tokenCovariances(x, y, mask); // (x_t - mean x)(y_t - mean y): SPEC 6's cov_t
  let n = 0;
  let s = 0;
  for (let i = 0; i < mask.length; i++)
    if (mask[i] > 0) {
      n++;
      s += cov[i];
    }
  return n === 0 ? null : s / n;
}

/** Cov(logp, A) over response tokens (natural-gradient form). */
export function covLogpAdv(logp: ArrayLike<number>, adv: ArrayLike<number>, mask: ArrayLike<number>): number | null {
  return maskedCovariance(logp, adv, mask);
}

/** Cov(logp, p * A), p = exp(logp), over response tokens (plain policy-gradient form). */
export function covLogpPAdv(logp: ArrayLike<number>, adv: ArrayLike<number>, mask: ArrayLike<number>): number | null {
  const pa = new Float64Array(logp.length);
  for (let i = 0; i < logp.length; i++) pa[i] = Math.exp(logp[i]) * adv[i];
  return maskedCovariance(logp, pa, mask);
}

/** Both probes under their metrics.jsonl names (docs/run-format.md). */
export function theoryProbes(
  logp: ArrayLike<number>,
  adv: ArrayLike<number>,
  mask: ArrayLike<number>,
): { 'probe/cov_logp_adv': number | null; 'probe/cov_logp_padv': number | null } {
  return { 'probe/cov_logp_adv': covLogpAdv(logp, adv, mask), 'probe/cov_logp_padv': covLogpPAdv(logp, adv, mask) };
}

/** `probe/entropy_delta` of a step: H(step) - H(step - 1); null at the first step. */
export function entropyDelta(previous: number | null, current: number): number | null {
  return previous === null ? null : current - previous;
}

/**
 * For correlating step t's covariances with the change they predict: element
 * t is H[t + 1] - H[t] (the change to the next step); the last is null.
 * Note `probe/entropy_delta` in metrics.jsonl is the backward difference, so
 * this equals that column shifted up by one row.
 */
export function nextStepEntropyDeltas(entropies: readonly number[]): (number | null)[] {
  return entropies.map((h, t) => (t + 1 < entropies.length ? entropies[t + 1] - h : null));
}
