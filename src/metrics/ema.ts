// Exponential moving average of the step entropy (SPEC 4):
//   s_0 = H_0,  s_t = beta * s_{t-1} + (1 - beta) * H_t,  beta = 0.6,
// with no bias correction. Tables report s at the last step.

export const ENTROPY_EMA_BETA = 0.6;

function checkBeta(beta: number): void {
  if (!(beta >= 0 && beta <= 1)) throw new RangeError(`EMA beta must be in [0, 1], got ${beta}`);
}

/** One update: the first value (prev undefined) is taken as it is. */
export function emaStep(prev: number | undefined, value: number, beta = ENTROPY_EMA_BETA): number {
  checkBeta(beta);
  return prev === undefined ? value : beta * prev + (1 - beta) * value;
}

/** The EMA after every step of a series (same length as the input). */
export function emaSeries(values: readonly number[], beta = ENTROPY_EMA_BETA): number[] {
  checkBeta(beta);
  const out: number[] = [];
  let s: number | undefined;
  for (const v of values) {
    s = emaStep(s, v, beta);
    out.push(s);
  }
  return out;
}

/** The EMA at the last step; NaN for an empty series. A NaN value propagates. */
export function emaLast(values: readonly number[], beta = ENTROPY_EMA_BETA): number {
  const s = emaSeries(values, beta);
  return s.length === 0 ? NaN : s[s.length - 1];
}
