// eval.keep_responses with the REAL trainer (tiny shape, through the CLI):
// the kept responses reproduce every diversity number of eval.jsonl, and
// each setting keeps the steps it promises.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { meanNgramDiversity } from '../../src/metrics/diversity.ts';
import { meanSelfBleu } from '../../src/metrics/selfbleu.ts';
import { readJsonl } from '../../src/runs/files.ts';
import type { EvalRow } from '../../src/runs/records.ts';
import { readResponses, responsesFile, responseSteps, tokensByBenchmark } from '../../src/runs/responses.ts';
import { jobPath } from '../../src/runs/layout.ts';
import { ROOT, runCli } from '../exec/fixtures.ts';
import { jobDirs, realProject, type RealProject } from '../exec/realjob.ts';

describe('eval.keep_responses (real trainer)', function () {
  this.timeout(300_000);
  let p: RealProject;
  before(() => (p = realProject({ steps: 6, seeds: [1], name: 'resp' })));
  after(() => p && fs.rmSync(p.root, { recursive: true, force: true }));

  const run = async (...set: string[]): Promise<string> => {
    const before = new Set(jobDirs(p.runs));
    const r = await runCli(['run', p.grid, '--runs-dir', p.runs, '--no-check', ...set.flatMap((s) => ['--set', s])], p.env, p.root);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const made = jobDirs(p.runs).filter((d) => !before.has(d));
    assert.equal(made.length, 1);
    return made[0];
  };

  /** Every kept step's responses give the n-gram diversity and Self-BLEU of its eval.jsonl row, for every benchmark of the row. */
  function assertRecomputable(dir: string): number {
    const rows = new Map(readJsonl<EvalRow>(path.join(dir, 'eval.jsonl')).map((r) => [r.step, r]));
    let checked = 0;
    for (const step of responseSteps(dir)) {
      const row = rows.get(step)!;
      const byBench = tokensByBenchmark(readResponses(dir, step));
      assert.deepEqual([...byBench.keys()].sort(), Object.keys(row.benchmarks).sort(), `step ${step}: benchmarks`);
      for (const [name, qs] of byBench) {
        const b = row.benchmarks[name];
        assert.equal(qs.length, b.correct.length, `${name}: questions`);
        const div = meanNgramDiversity(qs);
        assert.deepEqual({ ...Object.fromEntries(div.perN.map((v, i) => [String(i + 1), v])), mean: div.mean }, b.ngram_diversity, `step ${step} ${name}: n-gram diversity`);
        assert.equal(meanSelfBleu(qs).mean, b.self_bleu, `step ${step} ${name}: Self-BLEU`);
        checked++;
      }
      // the rewards kept are the verifier's: their sums are the row's correct counts
      const lines = readResponses(dir, step);
      for (const [name, b] of Object.entries(row.benchmarks))
        assert.deepEqual(lines.filter((l) => l.benchmark === name).map((l) => l.rewards.reduce((a, x) => a + x, 0)), b.correct);
    }
    return checked;
  }

  it("'all' keeps every evaluation's responses, each recomputable; step 0's also when the cache gave it", async () => {
    const dir = await run('eval.keep_responses=all');
    const evalSteps = readJsonl<EvalRow>(path.join(dir, 'eval.jsonl')).map((r) => r.step);
    assert.deepEqual(responseSteps(dir), evalSteps);
    assert.ok(assertRecomputable(dir) >= evalSteps.length);
    const l = readResponses(dir, 2)[0];
    assert.equal(l.tokens.length, 2); // eval.samples
    assert.equal(l.texts.length, 2);
    // another job of the same seed reads the base model's step 0 from the cache, and its responses with it
    const other = await run('eval.keep_responses=all', 'train.optimizer.lr=0.002');
    assert.match(fs.readFileSync(path.join(other, 'log.txt'), 'utf8'), /evaluated by an earlier job: cache/);
    assert.deepEqual(fs.readFileSync(responsesFile(other, 0)), fs.readFileSync(responsesFile(dir, 0)));
    assertRecomputable(other);
  });

  it("'selected' (the default) keeps the selected checkpoint's alone; with eval.schedule selected it holds every benchmark", async () => {
    // the shipped base model, which a few steps improve on the validation benchmark at this seed
    fs.cpSync(path.join(ROOT, 'models', 'base'), path.join(p.root, 'models', 'base'), { recursive: true });
    const before = new Set(jobDirs(p.runs));
    const r = await runCli(
      ['run', p.grid, '--runs-dir', p.runs, '--no-check', '--seeds', '2', '--set', 'model=models/base', '--set', 'eval.schedule=selected', '--set', 'train.optimizer.lr=0.001'],
      p.env,
      p.root,
    );
    assert.equal(r.code, 0, r.stderr);
    const dir = jobDirs(p.runs).find((d) => !before.has(d))!;
    const best = (JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as { best_step: number }).best_step;
    assert.ok(best > 0 && best < 6, `selected step ${best}: the test needs a trained checkpoint between the first and last evaluation`);
    assert.deepEqual(responseSteps(dir), [best]); // the other steps' files were written while the job ran, then removed
    // the selected row was validation-only until the end, then completed from checkpoints/best: so are its responses
    assert.ok(assertRecomputable(dir) > 1);
  });

  it("'none' keeps nothing; responses change no number of the run", async () => {
    const none = await run('eval.keep_responses=none');
    assert.ok(!fs.existsSync(jobPath(none, 'responses')));
    // the job of the first test: the same config but for keep_responses
    const cfg = (d: string): { eval: Record<string, unknown> } => JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    const same = (d: string): string => JSON.stringify({ ...cfg(d), eval: { ...cfg(d).eval, keep_responses: null } });
    const all = jobDirs(p.runs).find((d) => d !== none && cfg(d).eval.keep_responses === 'all' && same(d) === same(none))!;
    assert.ok(all);
    assert.equal(fs.readFileSync(path.join(none, 'eval.jsonl'), 'utf8'), fs.readFileSync(path.join(all, 'eval.jsonl'), 'utf8'));
    const strip = (d: string): string => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').replace(/,"time\/step_s":[^,}]*/g, '');
    assert.equal(strip(none), strip(all));
  });
});
