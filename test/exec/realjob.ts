// Small projects for tests that run the REAL GRPO trainer through the CLI:
// a temp project directory (the CLI's cwd) holding a tiny random model and a
// grid of tiny batches, so that a job of many steps takes seconds. The signal,
// heartbeat and terminal tests drive these; the test job runner awaits every
// step and so hides whatever blocks the event loop.
import fs from 'node:fs';
import path from 'node:path';
import { createModel, disposeModel } from '../../src/nn/model/index.ts';
import { saveModel } from '../../src/grpo/state.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';
import { testEnv, tmpDir } from './fixtures.ts';

export interface RealProject {
  root: string;
  grid: string;
  runs: string;
  env: NodeJS.ProcessEnv;
}

/** A project with models/tiny and grid.yaml: `seeds` jobs of `steps` steps (2 prompts x 2 responses each). */
export function realProject(opts: { steps: number; seeds: number[]; name?: string; checkpointEvery?: number; extraEnv?: Record<string, string | undefined> }): RealProject {
  const root = tmpDir('rlgrid-real-');
  const world = getTaskWorld('arith');
  const m = createModel({ vocab: world.tokenizer.size, context: 64, d_model: 32, heads: 2, layers: 1, mlp_ratio: 2 }, 3);
  saveModel(path.join(root, 'models', 'tiny'), m);
  disposeModel(m);
  const name = opts.name ?? 'real';
  const grid = path.join(root, `${name}.yaml`);
  fs.writeFileSync(
    grid,
    [
      'version: 1',
      `name: ${name}`,
      'base:',
      '  model: models/tiny',
      `  train: {steps: ${opts.steps}, prompts_per_batch: 2, group_size: 2, updates_per_batch: 1}`,
      `  eval: {every: ${Math.max(1, Math.floor(opts.steps / 3))}, samples: 2, questions: 3, probe_prompts: 4}`,
      '  rollout: {max_new_tokens: 16}',
      `  runtime: {backend: wasm, checkpoint_every: ${opts.checkpointEvery ?? 10}}`,
      'axes:',
      `  seed: [${opts.seeds.join(', ')}]`,
      '',
    ].join('\n'),
  );
  const env = testEnv({ RLGRID_JOB_RUNNER: 'grpo', RLGRID_CACHE_DIR: path.join(root, '.cache'), ...opts.extraEnv });
  return { root, grid, runs: path.join(root, 'runs'), env };
}

/** The job directories of a runs dir (content-addressed ids under jobs/). */
export function jobDirs(runs: string): string[] {
  const d = path.join(runs, 'jobs');
  return fs.existsSync(d) ? fs.readdirSync(d).sort().map((id) => path.join(d, id)) : [];
}

/** Steps logged in a job's metrics.jsonl. */
export function stepsLogged(dir: string): number {
  const f = path.join(dir, 'metrics.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
}

/**
 * What an uninterrupted run must equal byte for byte: metrics.jsonl without
 * its wall-time field, eval.jsonl, result.json, subset.json and the last
 * checkpoint (weights, optimizer, data order and RNG state).
 */
export function resultBytes(dir: string): Record<string, string> {
  const read = (f: string): string => fs.readFileSync(path.join(dir, f)).toString('base64');
  return {
    'metrics.jsonl': fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').replace(/,"time\/step_s":[^,}]*/g, ''),
    'eval.jsonl': read('eval.jsonl'),
    'result.json': read('result.json'),
    'subset.json': read('subset.json'),
    'checkpoints/last/checkpoint.json': read('checkpoints/last/checkpoint.json'),
    'checkpoints/last/tensors.bin': read('checkpoints/last/tensors.bin'),
  };
}

/** The step of a job's checkpoints/last (null: none). */
export function checkpointStep(dir: string): number | null {
  const f = path.join(dir, 'checkpoints', 'last', 'checkpoint.json');
  if (!fs.existsSync(f)) return null;
  const c = JSON.parse(fs.readFileSync(f, 'utf8')) as { meta?: { train_state?: { step?: number } } };
  return c.meta?.train_state?.step ?? null;
}
