// Public face of the task world (ground floor: pure, no tensors, no files).
export type { Benchmark, CorpusItem, Problem, TaskWorld, Tokenizer } from './types.ts';
export { getTaskWorld, taskWorldNames, familyOf, checkResponse, MAX_PROMPT_TOKENS, MAX_RESPONSE_TOKENS } from './world.ts';
export { answerSpan, finalAnswer, reward } from './verify.ts';
export type { TraceCheck } from './trace.ts';
