// eval.schedule with the real trainer on the shipped base model (small
// evaluation so it runs in seconds): 'selected' evaluates only the validation
// benchmark between the first and last steps and re-evaluates the selected
// checkpoint from checkpoints/best, and gives the same training, the same
// selection and the same selected-checkpoint numbers as 'all'.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveJob, type JobConfig } from '../../src/config/job.ts';
import { configHash } from '../../src/grid/hash.ts';
import { train } from '../../src/grpo/trainer.ts';
import { readJson, readJsonl } from '../../src/runs/files.ts';
import type { EvalRow, Result } from '../../src/runs/records.ts';
import type { Json } from '../../src/util/objects.ts';
import { useBackend } from '../helpers/backend.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-eval-schedule-'));

function config(schedule?: 'all' | 'selected'): JobConfig {
  return resolveJob({
    seed: 1,
    // seed 1 at the default lr selects step 4 of 6 (validation avg@k 0.219, 0.219, 0.281, 0.188)
    train: { steps: 6, prompts_per_batch: 8, group_size: 4 },
    eval: { every: 2, samples: 4, questions: 8, probe_prompts: 4, ...(schedule ? { schedule } : {}) },
    rollout: { max_new_tokens: 24 },
    runtime: { backend: 'wasm', checkpoint_every: 2 },
  } as Json);
}

async function run(name: string, cfg: JobConfig): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  await train({
    runDir: dir,
    config: cfg,
    projectRoot: process.cwd(),
    cacheDir: path.join(tmp, 'cache'),
    log: () => {},
    shouldStop: () => false,
    recordEnvironment: () => {},
  });
  return dir;
}

const evalsOf = (dir: string) => readJsonl<EvalRow>(path.join(dir, 'eval.jsonl'));
const metricsOf = (dir: string) =>
  readJsonl<Record<string, unknown>>(path.join(dir, 'metrics.jsonl')).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/'))));

describe('grpo/trainer: eval.schedule', function () {
  this.timeout(600_000);
  useBackend('wasm');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("'all' is the default: written or not, the same job", () => {
    assert.equal(config().eval.schedule, 'all');
    assert.equal(configHash(config('all') as unknown as Json).id, configHash(config() as unknown as Json).id);
    assert.notEqual(configHash(config('selected') as unknown as Json).id, configHash(config() as unknown as Json).id);
  });

  it("'selected' trains, selects and scores the selected checkpoint exactly as 'all', evaluating less", async () => {
    const all = await run('all', config());
    const sel = await run('selected', config('selected'));
    assert.deepEqual(metricsOf(sel), metricsOf(all), 'training does not depend on the evaluation schedule');
    const ra = readJson<Result>(path.join(all, 'result.json'));
    const rs = readJson<Result>(path.join(sel, 'result.json'));
    // the case the schedule exists for: the selected checkpoint is neither the base model nor the last step
    assert.ok(ra.best_step > 0 && ra.best_step < 6, `best step ${ra.best_step} should be inside the run for this test to mean something`);
    assert.equal(rs.best_step, ra.best_step);
    assert.deepEqual(rs.selected, ra.selected);
    assert.deepEqual(rs.last, ra.last);
    assert.deepEqual(rs, ra, 'result.json is the same');

    const ea = evalsOf(all);
    const es = evalsOf(sel);
    assert.deepEqual(es.map((e) => e.step), [0, 2, 4, 6]);
    const names = Object.keys(ea[0].benchmarks);
    assert.ok(names.length > 2);
    for (let i = 0; i < ea.length; i++) {
      const full = ea[i].step === 0 || ea[i].step === 6 || ea[i].step === ra.best_step;
      if (full) assert.deepEqual(es[i], ea[i], `step ${ea[i].step}: every benchmark, the same numbers (and key order)`);
      else {
        assert.equal(es[i].scope, 'validation');
        assert.deepEqual(Object.keys(es[i].benchmarks), ['id-val']);
        assert.deepEqual(es[i].benchmarks['id-val'], ea[i].benchmarks['id-val']);
        assert.equal(es[i].probe_entropy, ea[i].probe_entropy);
      }
    }
    // byte for byte: the selected checkpoint's row rewritten from checkpoints/best
    const line = (dir: string, step: number) => fs.readFileSync(path.join(dir, 'eval.jsonl'), 'utf8').split('\n').find((l) => l.startsWith(`{"step":${step},`));
    assert.equal(line(sel, ra.best_step), line(all, ra.best_step));
  });

  it("'selected' resumed after its last step completes the selected checkpoint's row", async () => {
    // a run that stopped after its last evaluation, before the selected checkpoint was completed
    const dir = path.join(tmp, 'resume');
    fs.cpSync(path.join(tmp, 'selected'), dir, { recursive: true });
    const best = readJson<Result>(path.join(dir, 'result.json')).best_step;
    fs.rmSync(path.join(dir, 'result.json'));
    const rows = evalsOf(dir).map((e) => (e.step === best ? { ...e, scope: 'validation', benchmarks: { 'id-val': e.benchmarks['id-val'] } } : e));
    fs.writeFileSync(path.join(dir, 'eval.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
    await run('resume', config('selected'));
    assert.equal(fs.readFileSync(path.join(dir, 'eval.jsonl'), 'utf8'), fs.readFileSync(path.join(tmp, 'selected', 'eval.jsonl'), 'utf8'));
    assert.deepEqual(readJson(path.join(dir, 'result.json')), readJson(path.join(tmp, 'selected', 'result.json')));
  });
});
