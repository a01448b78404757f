// The contract between the task world (ground floor, pure) and the rest of
// rlgrid: tokenizer, problems, benchmarks, the verifier and the pre-training
// corpus. See docs/task-world.md for the design and why it looks like this.

/** Character-level tokenizer. Special ids: PAD = 0, BOS, EOS. */
export interface Tokenizer {
  /** id -> symbol; specials are named "<pad>", "<bos>", "<eos>" */
  readonly vocab: readonly string[];
  readonly size: number;
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
  /** one id per character; adds no BOS/EOS; throws on a character outside the vocabulary */
  encode(text: string): number[];
  /** concatenates symbols, skipping pad/bos/eos (it does not stop at EOS); throws on an id out of range */
  decode(ids: readonly number[]): string;
}

export interface Problem {
  /** stable id, e.g. "add2-000123" (train) or "id-hard-0007" (benchmark) */
  id: string;
  /** problem family, e.g. "add", "mod", "ood-count" */
  family: string;
  /**
   * Difficulty level within the family: 1 (easiest) .. 3. Always set by the
   * arith world; optional so that hand-made problems (test stubs) need not say.
   */
  level?: number;
  prompt: string;
  /** the reference response: worked trace + "#" + final answer, no EOS */
  solution: string;
  /** the final answer exactly as it must appear after "#" */
  answer: string;
}

export interface Benchmark {
  name: string;
  domain: 'id' | 'ood';
  description: string;
  problems: Problem[];
}

export interface CorpusItem {
  prompt: string;
  /** a trace, possibly with wrong steps (continued consistently); no EOS */
  response: string;
  /** reward(problem, response) === 1 */
  correct: boolean;
  family: string;
  level: number;
}

export interface TaskWorld {
  name: string;
  version: string;
  tokenizer: Tokenizer;
  /** training prompts for RL: arithmetic families only; ids and prompts unique */
  train: Problem[];
  /** the training families, in a fixed order */
  families: string[];
  /** in-domain benchmarks (one is the validation set) then out-of-domain ones */
  benchmarks: Benchmark[];
  /** name of the validation benchmark */
  validation: string;
  /**
   * Verifiable outcome reward: 1 when the response holds exactly one "#" and
   * the text after it equals the problem's answer exactly, else 0. The trace
   * before "#" is not graded. Never throws. Callers should score a response
   * that ran out of tokens without EOS as 0 themselves.
   */
  reward(problem: Problem, response: string): number;
  /** [start, end) char span of the final answer (after the single "#"), or null */
  answerSpan(response: string): [number, number] | null;
  /** supervised corpus for the base model: traces with some wrong steps; deterministic in (seed, size) */
  pretrainCorpus(seed: number, size: number): CorpusItem[];
  /** bounds over every prompt and every response (EOS included) the world generates */
  maxPromptTokens: number;
  maxResponseTokens: number;
  /**
   * Optional: a class for each character of a response plus one for EOS
   * (length response.length + 1), e.g. 'neutral' / 'fork' / 'lit', so that
   * reports can split entropy by position class. Worlds without it report totals.
   */
  positionClasses?(problem: Problem, response: string): string[];
}
