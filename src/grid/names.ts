// Plan-time checks of every config value that names something outside the
// config: the validation benchmark (a benchmark of the job's task), the
// training subset's size and clusters (at most the task's training set), and
// the base model (an existing model directory that stays inside the project
// once symlinks are resolved). The planner points each problem at its YAML
// value (file:line); a job never starts with a name that does not exist.
import fs from 'node:fs';
import path from 'node:path';
import type { JobConfig } from '../config/job.ts';
import { getTaskWorld, taskWorldNames } from '../tasks/index.ts';
import { UserError } from '../util/errors.ts';
import { suggestion } from './paths.ts';

/** Grid names the runs directory keeps for itself (runs/jobs/ holds every job; runs/<grid>/ each grid). */
export const RESERVED_GRID_NAMES: readonly string[] = ['jobs'];

export interface NameCheckOptions {
  /** the project root: the model path is checked on disk when given */
  root?: string;
}

export interface NameProblem {
  path: string;
  message: string;
}

/** The problems of one resolved job's names (memoised by the values it reads). */
export class NameChecker {
  private readonly memo = new Map<string, NameProblem[]>();
  constructor(private readonly opts: NameCheckOptions = {}) {}

  problems(config: JobConfig): NameProblem[] {
    const s = config.data.subset;
    const key = JSON.stringify([config.task, config.eval.validation, s.method, s.size, s.clusters, config.model]);
    let hit = this.memo.get(key);
    if (!hit) {
      hit = [...taskProblems(config), ...(this.opts.root !== undefined ? modelProblems(config.model, this.opts.root) : [])];
      this.memo.set(key, hit);
    }
    return hit;
  }
}

function taskProblems(config: JobConfig): NameProblem[] {
  let world;
  try {
    world = getTaskWorld(config.task);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return [{ path: 'task', message: `unknown task world ${JSON.stringify(config.task)} (known: ${taskWorldNames().join(', ')})` }];
  }
  const out: NameProblem[] = [];
  const names = world.benchmarks.map((b) => b.name);
  if (!names.includes(config.eval.validation))
    out.push({
      path: 'eval.validation',
      message: `${JSON.stringify(config.eval.validation)} is not a benchmark of task ${config.task} (its benchmarks: ${names.join(', ')})${suggestion(config.eval.validation, names)}`,
    });
  const s = config.data.subset;
  const n = world.train.length;
  if (typeof s.size === 'number' && s.size > n)
    out.push({ path: 'data.subset.size', message: `${s.size} prompts is more than task ${config.task}'s training set (${n} prompts)` });
  if (s.method !== 'all' && s.clusters > n)
    out.push({ path: 'data.subset.clusters', message: `${s.clusters} clusters is more than task ${config.task}'s training set (${n} prompts)` });
  return out;
}

/** A model directory holds checkpoint.json (src/nn/checkpoint.ts) with this format. */
const MODEL_FORMAT = 'rlgrid-checkpoint';

function modelProblems(model: string, root: string): NameProblem[] {
  const at = (message: string): NameProblem[] => [{ path: 'model', message: `${JSON.stringify(model)}: ${message}` }];
  const abs = path.resolve(root, model);
  if (!fs.existsSync(abs)) return at('no such model directory (models/base ships with rlgrid; `rlgrid pretrain --out DIR` makes one)');
  let real: string;
  let realRoot: string;
  try {
    real = fs.realpathSync(abs);
    realRoot = fs.realpathSync(root);
  } catch (e) {
    return at(`cannot resolve the path (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const rel = path.relative(realRoot, real);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return at(`resolves through a symlink to ${path.isAbsolute(rel) ? real : rel}, outside the project directory`);
  if (!fs.statSync(real).isDirectory()) return at('not a directory (a model is a directory holding checkpoint.json and tensors.bin)');
  const sidecar = path.join(real, 'checkpoint.json');
  let format: unknown;
  try {
    format = (JSON.parse(fs.readFileSync(sidecar, 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format !== MODEL_FORMAT) return at('not a model directory (no readable checkpoint.json; `rlgrid pretrain --out DIR` makes one)');
  return [];
}
