// Avg@k and the unbiased Pass@k estimator (SPEC 10; Chen et al. 2021).
// For a question with n samples of which c are correct:
//   avg@k  = c / n
//   pass@k = 1 - C(n - c, k) / C(n, k),   and 1 when n - c < k.
// The ratio of binomials is evaluated as a product of factors in (0, 1], so it
// neither overflows nor loses digits for n in the thousands:
//   C(n-c, k) / C(n, k) = prod_{i=0}^{k-1} (n-c-i)/(n-i)      (k factors)
//                       = prod_{j=n-c+1}^{n} (1 - k/j)          (c factors)
// The shorter of the two products is used.
import { requireInt, meanOrNaN } from './check.ts';

/** Correct count c out of n samples for one question. */
export interface QuestionCounts {
  n: number;
  c: number;
}

function checkCounts(n: number, c: number): void {
  requireInt('n', n, 1);
  requireInt('c', c, 0);
  if (c > n) throw new RangeError(`c (${c}) must not exceed n (${n})`);
}

/** Unbiased pass@k for one question; requires 1 <= k <= n and 0 <= c <= n. */
export function passAtK(n: number, c: number, k: number): number {
  checkCounts(n, c);
  requireInt('k', k, 1);
  if (k > n) throw new RangeError(`pass@k needs k <= n (k = ${k}, n = ${n})`);
  if (n - c < k) return 1;
  let ratio = 1;
  if (k <= c) {
    for (let i = 0; i < k; i++) ratio *= (n - c - i) / (n - i);
  } else {
    for (let j = n - c + 1; j <= n; j++) ratio *= 1 - k / j;
  }
  return 1 - ratio;
}

/** avg@k for one question: the fraction of its samples that are correct. */
export function avgAtK(n: number, c: number): number {
  checkCounts(n, c);
  return c / n;
}

/** Mean over questions of pass@k; NaN for no questions. */
export function meanPassAtK(questions: readonly QuestionCounts[], k: number): number {
  return meanOrNaN(questions.map((q) => passAtK(q.n, q.c, k)));
}

/** Mean over questions of avg@k (each question weighs the same); NaN for no questions. */
export function meanAvgAtK(questions: readonly QuestionCounts[]): number {
  return meanOrNaN(questions.map((q) => avgAtK(q.n, q.c)));
}
