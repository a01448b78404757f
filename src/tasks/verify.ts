// The verifier. Strict on purpose: the final answer is the text after the one
// "#" of the response, and it must equal the reference answer character for
// character (so "085", "85;", " 85", "85#" and "" all score 0). The trace before
// "#" is not graded: the reward is an outcome reward, as in the study.
import type { Problem } from './types.ts';

export const ANSWER_MARK = '#';

/** [start, end) of the final answer: after the single "#", to the end; null if none. */
export function answerSpan(response: string): [number, number] | null {
  if (typeof response !== 'string') return null;
  const i = response.indexOf(ANSWER_MARK);
  if (i < 0 || response.indexOf(ANSWER_MARK, i + 1) >= 0 || i + 1 >= response.length) return null;
  return [i + 1, response.length];
}

/** The final answer as written, or null when the response has no well-delimited answer. */
export function finalAnswer(response: string): string | null {
  const span = answerSpan(response);
  return span === null ? null : response.slice(span[0], span[1]);
}

export function reward(problem: Problem, response: string): number {
  try {
    if (problem === null || typeof problem !== 'object' || typeof problem.answer !== 'string' || problem.answer === '') return 0;
    const a = finalAnswer(response);
    return a !== null && a === problem.answer ? 1 : 0;
  } catch {
    return 0;
  }
}
