// Evaluation responses kept in a run directory (eval.keep_responses):
// eval-responses/<step>.jsonl.gz, gzip'd JSON lines, one per (benchmark,
// question) in evaluation order, each with the question's n sampled responses
// as token ids (what n-gram diversity and Self-BLEU read, src/metrics/), as
// text, and their rewards. The one owner of that format (docs/run-format.md).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { writeFileAtomic } from './files.ts';
import { jobPath } from './layout.ts';
import { UserError } from '../util/errors.ts';


export interface ResponseLine {
  benchmark: string;
  /** the problem's id in its benchmark */
  question: string;
  /** response token ids, one array per sample (EOS excluded) */
  tokens: number[][];
  texts: string[];
  rewards: number[];
}

export const responsesFile = (runDir: string, step: number): string => path.join(jobPath(runDir, 'responses'), `${step}.jsonl.gz`);

/**
 * Write a step's responses (atomic; gzip level 9, no timestamp in its header,
 * so the same responses give the same bytes).
 */
export function writeResponses(runDir: string, step: number, lines: readonly ResponseLine[]): void {
  const text = lines.map((l) => JSON.stringify(l) + '\n').join('');
  writeFileAtomic(responsesFile(runDir, step), zlib.gzipSync(text, { level: 9 }));
}

/** A step's responses; [] when the file does not exist. A corrupt file is a UserError naming it. */
export function readResponses(runDir: string, step: number): ResponseLine[] {
  const file = responsesFile(runDir, step);
  if (!fs.existsSync(file)) return [];
  let text: string;
  try {
    text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  } catch (e) {
    throw new UserError([{ file, message: `corrupt gzip (${(e as Error).message})` }]);
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l, i) => {
      try {
        return JSON.parse(l) as ResponseLine;
      } catch {
        throw new UserError([{ file, line: i + 1, message: 'corrupt JSONL line' }]);
      }
    });
}

/** Steps with kept responses, ascending. */
export function responseSteps(runDir: string): number[] {
  const dir = jobPath(runDir, 'responses');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^(\d+)\.jsonl\.gz$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Remove the kept responses of every step but `keep` (keep_responses 'selected', at the job's end). */
export function pruneResponses(runDir: string, keep: readonly number[]): void {
  for (const s of responseSteps(runDir)) if (!keep.includes(s)) fs.rmSync(responsesFile(runDir, s), { force: true });
}

/** Per benchmark, the token ids of each question's responses, in file order (what src/metrics/ takes). */
export function tokensByBenchmark(lines: readonly ResponseLine[]): Map<string, number[][][]> {
  const out = new Map<string, number[][][]>();
  for (const l of lines) {
    const qs = out.get(l.benchmark) ?? [];
    qs.push(l.tokens);
    out.set(l.benchmark, qs);
  }
  return out;
}
