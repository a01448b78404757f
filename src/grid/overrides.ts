// Command-line overrides in Hydra's spirit: `--set path=value` (typed by the
// job schema), `--seeds 1,2` (the seed axis's values) and `--only axis=glob`.
// They change the grid before it is planned, so the plan that is frozen is
// the effective one (plan.grid.overrides names them; the grid hash includes
// them). One owner for these options: the CLI only passes the strings here.
import path from 'node:path';
import { minimatch } from 'minimatch';
import { parse as parseYaml } from 'yaml';
import { contentHash } from '../util/canonical.ts';
import { UserError, type Diagnostic } from '../util/errors.ts';
import type { Json, JsonObject } from '../util/objects.ts';
import { expandGridWith } from './expand.ts';
import { loadGridWithSources, type LoadOptions } from './load.ts';
import { applyPatch, pathPatch } from './patch.ts';
import { cloneJson } from '../util/objects.ts';
import { suggestion } from './paths.ts';
import { configPaths, partialDefs, type Schema } from './schema.ts';
import { labelledJobs, labelMatches, valueLabel } from './select.ts';
import type { Grid, Labels, Plan, PlannedJob } from './types.ts';

export interface GridOverrides {
  /** `path=value` strings, as given (repeatable --set) */
  set?: readonly string[];
  /** --seeds: "1,2", "1-3" or "1,4-5" */
  seeds?: string;
}

export const hasOverrides = (o: GridOverrides | undefined): boolean => !!o && ((o.set?.length ?? 0) > 0 || o.seeds !== undefined);

/** Where an override's problems point: the option as the user typed it. */
const at = (option: string, message: string): Diagnostic => ({ file: option, message });

let pathsCache: Map<string, Schema> | undefined;
/** config path -> its partial schema (the `else` of the `~unset` wrapper). */
function configSchemas(): Map<string, Schema> {
  if (pathsCache) return pathsCache;
  const defs = partialDefs();
  pathsCache = new Map();
  for (const p of configPaths(defs).keys()) {
    const d = defs[`cfg:${p}`] as Schema;
    pathsCache.set(p, (d.else as Schema | undefined) ?? d);
  }
  return pathsCache;
}

/** The JSON types a schema node accepts ("integer" counts as number). */
function acceptedTypes(s: Schema): Set<string> {
  const out = new Set<string>();
  const add = (t: unknown) => {
    for (const x of Array.isArray(t) ? t : [t]) if (typeof x === 'string') out.add(x === 'integer' ? 'number' : x);
  };
  if (s.type !== undefined) add(s.type);
  for (const v of [...((s.enum as unknown[]) ?? []), ...('const' in s ? [s.const] : [])]) add(v === null ? 'null' : typeof v);
  for (const kw of ['anyOf', 'oneOf'] as const) if (Array.isArray(s[kw])) for (const b of s[kw] as Schema[]) for (const t of acceptedTypes(b)) out.add(t);
  if (out.size === 0 && s.properties) out.add('object');
  return out;
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * One `--set path=value`: the path must be a config path of the job schema
 * (a did-you-mean otherwise); the value is YAML (`3`, `null`, `{low: 0.1}`),
 * kept as the raw string when the schema wants a string there (`--set
 * model=models/base`, a label-like `1e-3` for a string field).
 */
export function parseSet(spec: string): { path: string; value: Json } {
  const opt = `--set ${spec}`;
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UserError([at(opt, 'expected path=value, e.g. --set train.steps=10')]);
  const p = spec.slice(0, eq).trim();
  const raw = spec.slice(eq + 1);
  const schemas = configSchemas();
  const s = schemas.get(p);
  if (!s) throw new UserError([at(opt, `unknown config path "${p}"${suggestion(p, schemas.keys())}`)]);
  let value: Json;
  try {
    value = parseYaml(raw) as Json;
  } catch (e) {
    throw new UserError([at(opt, `the value is not YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)]);
  }
  if (value === undefined) value = null;
  const types = acceptedTypes(s);
  if (!types.has(typeOf(value)) && types.has('string')) value = raw;
  if (types.size > 0 && !types.has(typeOf(value)))
    throw new UserError([at(opt, `${p} takes ${[...types].join(' or ')}, got ${typeOf(value)} ${JSON.stringify(value)}`)]);
  return { path: p, value };
}

/** "1,3-5" -> [1, 3, 4, 5]; seeds are integers >= 0. */
export function parseSeeds(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError([at(`--seeds ${text}`, `expected seeds like 1,2 or 1-3, got "${part}"`)]);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UserError([at(`--seeds ${text}`, `empty range ${part}`)]);
    if (b - a > 10_000) throw new UserError([at(`--seeds ${text}`, `range ${part} is too long`)]);
    for (let x = a; x <= b; x++) if (!out.includes(x)) out.push(x);
  }
  return out;
}

/**
 * --seeds: the `seed` axis gets these values (new seeds are new jobs); an
 * include whose seed is not among them is dropped. A grid without a seed axis
 * gets one, last (its includes then name no seed: refused).
 */
export function withSeeds(grid: Grid, seeds: number[]): Grid {
  const g: Grid = { ...grid, axes: { ...grid.axes } };
  const axis = grid.axes.seed;
  if (axis && axis.kind !== 'values') throw new UserError([at('--seeds', `grid ${grid.name}'s axis "seed" has named variants; pick them with --only seed=LABEL`)]);
  if (axis && axis.path !== 'seed') throw new UserError([at('--seeds', `grid ${grid.name}'s axis "seed" sets ${axis.path}, not the job seed`)]);
  if (!axis && grid.include.length) throw new UserError([at('--seeds', `grid ${grid.name} has no seed axis and has includes; add a seed axis to the grid`)]);
  g.axes.seed = { kind: 'values', path: 'seed', values: seeds };
  const labels = new Set(seeds.map((s) => valueLabel(s)));
  g.include = grid.include.filter((inc) => inc.labels.seed === undefined || labels.has(inc.labels.seed));
  g.exclude = grid.exclude;
  return g;
}

/** The overrides as one patch (applied after every axis and include) and their texts. */
export function overridePatch(o: GridOverrides): { patch: JsonObject; texts: string[]; paths: Map<string, string> } {
  let patch: JsonObject = {};
  const paths = new Map<string, string>();
  for (const spec of o.set ?? []) {
    const { path: p, value } = parseSet(spec);
    patch = applyPatch(patch, pathPatch(p, cloneJson(value)));
    paths.set(p, `--set ${spec}`);
  }
  const texts = [...(o.set ?? []).map((s) => `--set ${s}`), ...(o.seeds !== undefined ? [`--seeds ${o.seeds}`] : [])];
  return { patch, texts, paths };
}

/**
 * Plan a grid file with overrides. Without any, this is planGrid(). The
 * plan's grid hash covers the overrides, so a frozen plan says which grid
 * and overrides it came from, and `table GRID.yaml` notices the difference.
 */
export function planGridWithOverrides(file: string, opts: LoadOptions & { overrides?: GridOverrides; maxJobs?: number; checkFiles?: boolean } = {}): Plan {
  const { grid: loaded, sources } = loadGridWithSources(file, opts);
  const rel = path.relative(sources.root, loaded.file);
  const displayFile = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : loaded.file;
  const o = opts.overrides;
  const limits = { maxJobs: opts.maxJobs, ...(opts.checkFiles ? { checkFilesIn: sources.root } : {}) };
  if (!hasOverrides(o)) return expandGridWith(loaded, { sources, displayFile, ...limits });
  const grid = o!.seeds !== undefined ? withSeeds(loaded, parseSeeds(o!.seeds)) : loaded;
  const { patch, texts, paths } = overridePatch(o!);
  // a value every job would share would collapse a list axis into duplicates of one job
  for (const [p, text] of paths)
    for (const [name, axis] of Object.entries(grid.axes))
      if (axis.kind === 'values' && (axis.path === p || axis.path.startsWith(p + '.')))
        throw new UserError([at(text, `${axis.path} is the values of axis "${name}"; ${name === 'seed' ? 'give --seeds instead' : `pick values with --only ${name}=...`}`)]);
  const plan = expandGridWith(grid, { sources, displayFile, ...limits, overrides: { patch, sources: paths } });
  const hash = contentHash([loaded.hash, texts]);
  return { ...plan, grid: { ...plan.grid, hash, overrides: texts } };
}

// --- --only -----------------------------------------------------------------

const GLOB = /[*?[\]{}]/;

/** A label against an --only pattern: a glob (`GRPO*`) or an exact label / value. */
export function onlyMatches(label: string, pattern: string): boolean {
  if (labelMatches(label, pattern)) return true;
  return GLOB.test(pattern) && minimatch(label, pattern, { dot: true, nonegate: true, nocomment: true, noglobstar: true });
}

/**
 * `--only axis=pattern` (repeatable): the same axis given twice means either
 * pattern; different axes must all match. A label set that the planner
 * merged into another job picks the job it merged into. Unknown axes and
 * patterns that match no label exit 2, naming the labels there are.
 */
export function selectJobs(plan: Plan, only: readonly string[] = []): PlannedJob[] {
  if (only.length === 0) return plan.jobs;
  const matches = onlyFilter(plan, only);
  const ids = new Set(labelledJobs(plan).filter((j) => matches(j.labels)).map((j) => j.id));
  const picked = plan.jobs.filter((j) => ids.has(j.id));
  if (picked.length === 0) throw new UserError(`--only ${only.join(' ')}: no job of grid ${plan.grid.name} matches all of these`);
  return picked;
}

/** The predicate of a list of --only specs (checked against the plan's axes and labels). */
export function onlyFilter(plan: Plan, only: readonly string[]): (labels: Labels) => boolean {
  const want = new Map<string, string[]>();
  const errs: Diagnostic[] = [];
  for (const spec of only) {
    const eq = spec.indexOf('=');
    if (eq <= 0) {
      errs.push({ message: `--only ${spec}: expected axis=label (a glob such as method=GRPO* is allowed)` });
      continue;
    }
    const axis = spec.slice(0, eq).trim();
    const pattern = spec.slice(eq + 1).trim();
    if (!plan.axes.includes(axis)) {
      errs.push({ message: `--only ${spec}: grid ${plan.grid.name} has no axis "${axis}"${suggestion(axis, plan.axes)} (axes: ${plan.axes.join(', ') || 'none'})` });
      continue;
    }
    const labels = [...new Set(labelledJobs(plan).map((j) => j.labels[axis]).filter((l) => l !== undefined))];
    if (!labels.some((l) => onlyMatches(l, pattern))) {
      // A label may itself contain "=" (lr=1e-3): the axis comes first.
      const hint = labels.includes(spec) ? `; the label "${spec}" is selected with --only "${axis}=${spec}"` : pattern.length >= 4 ? suggestion(pattern, labels) : ''; // "9" is not a typo of "1"
      errs.push({ message: `--only ${spec}: no job has ${axis}=${pattern}${hint} (labels: ${labels.join(', ')})` });
      continue;
    }
    want.set(axis, [...(want.get(axis) ?? []), pattern]);
  }
  if (errs.length) throw new UserError(errs);
  return (labels) => [...want].every(([axis, ps]) => labels[axis] !== undefined && ps.some((p) => onlyMatches(labels[axis], p)));
}

/** The plan restricted to the jobs (and merged label sets) --only picks; everything else kept. */
export function selectPlan(plan: Plan, only: readonly string[] = []): Plan {
  if (only.length === 0) return plan;
  const matches = onlyFilter(plan, only);
  const jobs = selectJobs(plan, only);
  const ids = new Set(jobs.map((j) => j.id));
  return { ...plan, jobs, duplicates: plan.duplicates.filter((d) => ids.has(d.id) && matches(d.labels)) };
}
