// The planner: Grid -> Plan. Product of the axes (first axis outermost), zip
// groups advancing together, exclude, include; each job's partial config is
// base + the patches of its labels in axis order (+ the include's patch),
// resolved with every default (resolveJob), validated against
// schema/job.schema.json and jobConsistencyErrors, and identified by the
// sha256 of its canonical JSON. Identical configs are one job.
import path from 'node:path';
import { resolveJob, jobConsistencyErrors, type JobConfig } from '../config/job.ts';
import { UserError, type Diagnostic } from '../util/errors.ts';
import type { Json, JsonObject } from '../util/objects.ts';
import type { Grid, Labels, Plan, PlannedJob } from './types.ts';
import { applyPatch, pathPatch } from './patch.ts';
import { cloneJson } from '../util/objects.ts';
import { canonicalFast, canonicalHash } from './hash.ts';
import { Templates } from './templates.ts';
import { getValidators } from './schema.ts';
import { schemaProblems } from './messages.ts';
import { formatLabels, labelMatches, selectorMatches, valueLabel } from './select.ts';
import { displayPath, joinSegs } from './paths.ts';
import { loadGridWithSources, type GridSources, type LoadOptions } from './load.ts';
import type { Src } from './merged.ts';
import { locate, sortDiagnostics } from './yamlfile.ts';
import { NameChecker } from './names.ts';

/** The most jobs a grid may expand to unless --max-jobs says otherwise (counted before expanding). */
export const DEFAULT_MAX_JOBS = 100_000;

/** At most this many distinct diagnostics are reported for invalid jobs. */
const MAX_JOB_DIAGNOSTICS = 100;

interface Entry {
  label: string;
  patch: JsonObject;
}

interface Layer {
  sources: Map<string, Src>;
  /** the variant label's position, when the layer is a named variant */
  label?: Src;
  nonEmpty: boolean;
}

function entriesOf(grid: Grid): Entry[][] {
  return Object.values(grid.axes).map((a) =>
    a.kind === 'values'
      ? a.values.map((v) => ({ label: valueLabel(v), patch: pathPatch(a.path, v) }))
      : Object.entries(a.variants).map(([label, patch]) => ({ label, patch })),
  );
}

function fail(grid: Grid, message: string, p?: string): never {
  throw new UserError([{ file: grid.file, ...(p ? { path: p } : {}), message }]);
}

/** Loop units: single axes and zip groups, placed where their first axis is declared. */
function unitsOf(grid: Grid, names: string[], entries: Entry[][]): number[][] {
  const groupOf = new Map<string, number>();
  grid.zip.forEach((g, gi) => {
    for (const n of g) {
      if (!names.includes(n)) fail(grid, `unknown axis ${JSON.stringify(n)}`, `zip[${gi}]`);
      if (groupOf.has(n)) fail(grid, `axis ${JSON.stringify(n)} is in two zip groups`, `zip[${gi}]`);
      groupOf.set(n, gi);
    }
    const lens = g.map((n) => entries[names.indexOf(n)].length);
    if (lens.some((l) => l !== lens[0])) fail(grid, `zip group [${g.join(', ')}] has unequal lengths: ${g.map((n, i) => `${n} has ${lens[i]}`).join(', ')}`, `zip[${gi}]`);
  });
  const units: number[][] = [];
  const done = new Set<number>();
  names.forEach((n, i) => {
    const gi = groupOf.get(n);
    if (gi === undefined) units.push([i]);
    else if (!done.has(gi)) {
      done.add(gi);
      units.push(names.map((x, j) => (groupOf.get(x) === gi ? j : -1)).filter((j) => j >= 0));
    }
  });
  return units;
}

/**
 * Visit the product in plan order: units in declaration order, the first
 * outermost (the last advances fastest). `choice` is reused between calls.
 */
function forEachProduct(units: number[][], lens: number[], nAxes: number, visit: (choice: number[]) => void): number {
  const total = lens.reduce((a, b) => a * b, 1);
  const digits = units.map(() => 0);
  const choice = new Array<number>(nAxes).fill(0);
  for (let n = 0; n < total; n++) {
    for (let k = 0; k < units.length; k++) for (const ax of units[k]) choice[ax] = digits[k];
    visit(choice);
    for (let k = units.length - 1; k >= 0; k--) {
      if (++digits[k] < lens[k]) break;
      digits[k] = 0;
    }
  }
  return total;
}

/** Collects job problems, one diagnostic per place and message, naming the jobs it hits. */
class JobErrors {
  private readonly byKey = new Map<string, { diag: Diagnostic; jobs: Labels[] }>();
  count = 0;
  add(diag: Diagnostic, labels: Labels): void {
    const key = JSON.stringify([diag.file, diag.line, diag.col, diag.path, diag.message]);
    const hit = this.byKey.get(key);
    if (hit) hit.jobs.push(labels);
    else if (this.byKey.size < MAX_JOB_DIAGNOSTICS) this.byKey.set(key, { diag, jobs: [labels] });
    this.count++;
  }
  get size(): number {
    return this.byKey.size;
  }
  diagnostics(): Diagnostic[] {
    return [...this.byKey.values()].map(({ diag, jobs }) => {
      const named = jobs.slice(0, 3).map((l) => (Object.keys(l).length ? formatLabels(l) : 'the only job'));
      const which = jobs.length === 1 ? `job ${named[0]}` : `${jobs.length} jobs: ${named.join('; ')}${jobs.length > 3 ? `; +${jobs.length - 3} more` : ''}`;
      return { ...diag, message: `${diag.message} (${which})` };
    });
  }
}

export interface ExpandContext {
  sources?: GridSources;
  /** false: resolve every job the general way (tests compare both paths) */
  fast?: boolean;
  /** Plan.grid.file: how the plan names the grid file (default grid.file) */
  displayFile?: string;
  /** refuse a grid whose axes multiply to more jobs than this (default DEFAULT_MAX_JOBS) */
  maxJobs?: number;
  /** check model paths on disk against this project root (grid/names.ts); task names are always checked */
  checkFilesIn?: string;
  /** command-line overrides (src/grid/overrides.ts): applied to every job last; sources: config path -> the option's text */
  overrides?: { patch: JsonObject; sources: Map<string, string> };
}

/** The longest prefix of a config path that a layer sets. */
function findIn(layer: Map<string, Src>, p: string): { src: Src } | undefined {
  let q = p;
  for (;;) {
    const s = layer.get(q);
    if (s) return { src: s };
    const dot = q.lastIndexOf('.');
    if (dot < 0) return undefined;
    q = q.slice(0, dot);
  }
}

/** Point a problem of a resolved job at the YAML value that caused it (latest layer first). */
function locateJobProblem(file: string, layers: Layer[], configPath: string, message: string): Diagnostic {
  const at = (s: Src, p: string, msg: string): Diagnostic => {
    const pos = locate(s.yf, s.raw);
    return { file: s.yf.display, ...(pos ? { line: pos.line, col: pos.col } : {}), path: p, message: msg };
  };
  for (let i = layers.length - 1; i >= 0; i--) {
    const exact = layers[i].sources.get(configPath);
    if (exact) return at(exact, displayPath(exact.raw), message);
  }
  for (let i = layers.length - 1; i >= 0; i--) {
    const hit = findIn(layers[i].sources, configPath);
    if (hit) return at(hit.src, displayPath(hit.src.raw), `${configPath}: ${message}`);
  }
  for (let i = layers.length - 1; i >= 0; i--)
    for (const [k, s] of layers[i].sources)
      if (k.startsWith(configPath + '.')) return at(s, displayPath(s.raw), `${configPath}: ${message}`);
  const variant = [...layers].reverse().find((l) => l.label && l.nonEmpty);
  if (variant?.label) return at(variant.label, displayPath(variant.label.raw), `${configPath}: ${message}`);
  return { file, path: configPath, message };
}

/** The job problems of one resolved config: schema, then cross-field rules. */
function jobProblems(config: JobConfig): { path: string; message: string }[] {
  const v = getValidators();
  const out: { path: string; message: string }[] = [];
  if (!v.jobFast(config)) {
    v.jobVerbose(config);
    for (const p of schemaProblems(v.jobVerbose.errors, config)) out.push({ path: joinSegs(p.path), message: p.message });
    return out; // cross-field rules assume a well-formed config
  }
  return jobConsistencyErrors(config);
}

/** Expand a loaded grid; `ctx.sources` (from the loader) lets errors point into the YAML. */
export function expandGridWith(grid: Grid, ctx: ExpandContext = {}): Plan {
  const names = Object.keys(grid.axes);
  const entries = entriesOf(grid);
  for (const [i, e] of entries.entries()) if (e.length === 0) fail(grid, 'an axis needs at least one value or variant', joinSegs(['axes', names[i]]));
  const units = unitsOf(grid, names, entries);
  const src = ctx.sources;
  const file = ctx.displayFile ?? grid.file;
  // Count before expanding: a product of many axes is refused in microseconds, not after filling memory.
  const maxJobs = ctx.maxJobs ?? DEFAULT_MAX_JOBS;
  const upper = units.reduce((n, u) => n * entries[u[0]].length, 1) + grid.include.length;
  if (upper > maxJobs) {
    const each = units.map((u) => `${u.map((i) => names[i]).join('+')} ${entries[u[0]].length}`);
    const sizes = each.length > 6 ? `${each.slice(0, 5).join(' x ')} x ... (${each.length} axes)` : each.join(' x ');
    const at = src && names.length ? src.axes[names[0]]?.src : undefined;
    const pos = at ? locate(at.yf, at.raw.slice(0, 1)) : undefined;
    throw new UserError([
      {
        file: at ? at.yf.display : file,
        ...(pos ? { line: pos.line, col: pos.col } : {}),
        path: 'axes',
        message: `the axes multiply to ${upper.toLocaleString('en-US')} jobs (${sizes}${grid.include.length ? `, + ${grid.include.length} includes` : ''}; before exclude), over the limit of ${maxJobs.toLocaleString('en-US')} (--max-jobs N to allow more)`,
      },
    ]);
  }
  const errors = new JobErrors();
  const names_ = new NameChecker({ root: ctx.checkFilesIn });
  const jobs: PlannedJob[] = [];
  const duplicates: Plan['duplicates'] = [];
  /** job id -> full hash of its config (ids are 48 bits: a different hash under a known id is a collision) */
  const hashOfId = new Map<string, string>();
  let labelsSeen: Map<string, string> | undefined; // built when the first include arrives
  const over = ctx.overrides;
  const templates = ctx.fast === false || over ? undefined : new Templates(grid, names, Object.values(grid.axes).map((a) => (a.kind === 'values' ? a.values : undefined)), entries.map((e) => e.map((x) => x.patch)));
  // general path: prefix[d] = base + patches of axes 0..d-1 of `prev`
  const prefix: JsonObject[] = [cloneJson(grid.base)];
  let prev: number[] | undefined;

  const add = (choice: number[], labels: Labels, include?: number): void => {
    let config: JobConfig | undefined;
    let canonical: string | undefined;
    if (include === undefined && templates?.enabled) {
      const fast = templates.job(choice);
      if (fast && jobConsistencyErrors(fast.config).length === 0 && names_.problems(fast.config).length === 0) ({ config, canonical } = fast);
    }
    if (!config) {
      let from = 0;
      if (prev && include === undefined) while (from < names.length && prev[from] === choice[from]) from++;
      for (let d = from; d < names.length; d++) prefix[d + 1] = applyPatch(cloneJson(prefix[d]), entries[d][choice[d]].patch);
      prev = include === undefined ? [...choice] : undefined;
      let partial = prefix[names.length];
      if (include !== undefined) partial = applyPatch(cloneJson(partial), grid.include[include].patch);
      if (over) partial = applyPatch(cloneJson(partial), over.patch);
      config = resolveJob(partial);
      const problems = jobProblems(config);
      if (problems.length === 0) problems.push(...names_.problems(config));
      if (problems.length) {
        const layers = src ? jobLayers(src, grid, names, choice, labels, include) : [];
        for (const p of problems) {
          const set = over && overrideSource(over.sources, p.path);
          if (set) errors.add({ file: set, path: p.path, message: p.message }, labels);
          else errors.add(src ? locateJobProblem(file, layers, p.path, p.message) : { file, path: p.path, message: p.message }, labels);
        }
        return;
      }
    }
    if (errors.size) return; // once broken, only collect errors
    const { hash, id } = canonicalHash(canonical ?? canonicalFast(config as unknown as Json));
    const known = hashOfId.get(id);
    if (known !== undefined && known !== hash) throw new Error(`job id collision: ${id} names two different configs (${known} and ${hash})`);
    if (include !== undefined) {
      if (!labelsSeen) {
        labelsSeen = new Map();
        for (const j of jobs) labelsSeen.set(JSON.stringify(j.labels), hashOfId.get(j.id)!);
        for (const d of duplicates) labelsSeen.set(JSON.stringify(d.labels), hashOfId.get(d.id)!);
      }
      const key = JSON.stringify(labels);
      const same = labelsSeen.get(key);
      if (same !== undefined && same !== hash) {
        const msg = 'this include has the labels of another job but a different config; give it a label or value of its own';
        const at = src?.include[include]?.src;
        if (at) {
          const pos = locate(at.yf, at.raw);
          errors.add({ file: at.yf.display, ...(pos ? { line: pos.line, col: pos.col } : {}), path: displayPath(at.raw), message: msg }, labels);
        } else errors.add({ file, path: `include[${include}]`, message: msg }, labels);
        return;
      }
      labelsSeen.set(key, hash);
    }
    if (known !== undefined) {
      duplicates.push({ id, labels });
      return;
    }
    hashOfId.set(id, hash);
    jobs.push({ id, index: jobs.length, labels, config });
  };

  const lens = units.map((u) => entries[u[0]].length);
  const productSize = forEachProduct(units, lens, names.length, (choice) => {
    const labels: Labels = {};
    for (let i = 0; i < names.length; i++) labels[names[i]] = entries[i][choice[i]].label;
    for (const sel of grid.exclude) if (selectorMatches(labels, sel)) return;
    add(choice, labels);
  });
  grid.include.forEach((inc, ii) => {
    const choice = names.map((name, i) => {
      const label = inc.labels[name];
      if (label === undefined) fail(grid, `an include names every axis; missing ${JSON.stringify(name)}`, `include[${ii}].labels`);
      const axis = grid.axes[name];
      if (axis.kind === 'variants') {
        const k = entries[i].findIndex((e) => labelMatches(e.label, label));
        if (k < 0) fail(grid, `axis ${JSON.stringify(name)} has no label ${JSON.stringify(label)}`, `include[${ii}].labels.${name}`);
        return k;
      }
      const k = entries[i].findIndex((e) => e.label === label);
      if (k >= 0) return k;
      // a new value of a list axis: an extra entry
      entries[i].push({ label, patch: pathPatch(axis.path, JSON.parse(label) as Json) });
      return entries[i].length - 1;
    });
    const labels: Labels = {};
    names.forEach((name, i) => (labels[name] = entries[i][choice[i]].label));
    add(choice, labels, ii);
  });

  if (errors.size) {
    const ds = sortDiagnostics(errors.diagnostics());
    if (errors.size >= MAX_JOB_DIAGNOSTICS) ds.push({ file, message: `stopped after ${MAX_JOB_DIAGNOSTICS} distinct problems` });
    throw new UserError(ds);
  }
  if (jobs.length === 0) {
    const ex = src?.exclude[0];
    const msg = `the grid expands to zero jobs: exclude drops all ${productSize} combinations of the axes`;
    if (ex) {
      const pos = locate(ex.yf, ex.raw);
      throw new UserError([{ file: ex.yf.display, ...(pos ? { line: pos.line, col: pos.col } : {}), path: 'exclude', message: msg }]);
    }
    fail(grid, msg);
  }
  return {
    version: 1,
    grid: { name: grid.name, file, hash: grid.hash },
    axes: names,
    jobs,
    duplicates,
    claims: grid.claims,
    ...(grid.table ? { table: grid.table } : {}),
  };
}

/** The --set option that set a config path or a block above it. */
function overrideSource(sources: Map<string, string>, configPath: string): string | undefined {
  for (const [p, text] of sources) if (configPath === p || configPath.startsWith(p + '.') || p.startsWith(configPath + '.')) return text;
  return undefined;
}

/** The layers (base, each axis, include) of one job with their sources, in application order. */
function jobLayers(src: GridSources, grid: Grid, names: string[], choice: number[], labels: Labels, include?: number): Layer[] {
  const layers: Layer[] = [{ sources: src.base, nonEmpty: Object.keys(grid.base).length > 0 }];
  names.forEach((name, i) => {
    const a = grid.axes[name];
    const s = src.axes[name];
    if (a.kind === 'values') {
      const item = s?.items?.[choice[i]];
      const inc = include !== undefined ? src.include[include]?.labels[name] : undefined;
      const at = inc ?? item;
      layers.push({ sources: at ? new Map([[a.path, at]]) : new Map(), nonEmpty: true });
    } else {
      const label = labels[name];
      const v = s?.variants?.[label];
      layers.push({ sources: v?.patch ?? new Map(), label: v?.src, nonEmpty: Object.keys(a.variants[label] ?? {}).length > 0 });
    }
  });
  if (include !== undefined) layers.push({ sources: src.include[include]?.patch ?? new Map(), nonEmpty: true });
  return layers;
}

/** Expand a Grid value into a Plan (pure: no files read). Throws UserError for invalid jobs. */
export function expandGrid(grid: Grid): Plan {
  return expandGridWith(grid);
}

/** Load a grid file (extends included) and expand it; errors point into the YAML. */
export function planGrid(file: string, opts: LoadOptions & { maxJobs?: number; checkFiles?: boolean } = {}): Plan {
  const { grid, sources } = loadGridWithSources(file, opts);
  const rel = path.relative(sources.root, grid.file);
  const displayFile = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : grid.file;
  return expandGridWith(grid, { sources, displayFile, maxJobs: opts.maxJobs, ...(opts.checkFiles ? { checkFilesIn: sources.root } : {}) });
}
