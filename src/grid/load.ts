// Loading a grid file: YAML with positions -> JSON Schema (ajv) -> the DSL's
// own rules (rules.ts) -> `extends` merging -> a Grid value. Every problem of the file
// (and of the files it extends) is collected and thrown together as one
// UserError whose diagnostics read `file:line:col path: message`.
import { realpathSync, existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.ts';
import { contentHash } from '../util/canonical.ts';
import { cloneJson, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Claim, Grid, Labels, TableSpec } from './types.ts';
import { labelProblem, nameProblem, suggestion, type Seg } from './paths.ts';
import { RESERVED_GRID_NAMES } from './names.ts';
import { getValidators, UNSET } from './schema.ts';
import { schemaProblems } from './messages.ts';
import { applyPatch, mergeSources, normalizePatch } from './patch.ts';
import { labelMatches, valueLabel } from './select.ts';
import { diagAt, readYaml, sortDiagnostics, type YamlFile } from './yamlfile.ts';
import { Ctx, emptyMerged, inPatch, src, type AxisM, type Merged, type Src } from './merged.ts';
import { checkExpect, checkMerged, isSelector } from './rules.ts';

export interface LoadOptions {
  /** project root: `extends` targets and file paths in configs (model) must stay inside it; default cwd */
  root?: string;
}

/** Positions of a loaded grid's parts, for the planner's error messages. */
export interface GridSources {
  root: string;
  /** the file that was loaded (the end of the extends chain) */
  top: YamlFile;
  base: Map<string, Src>;
  axes: Record<string, { src: Src; items?: Src[]; variants?: Record<string, { src: Src; patch: Map<string, Src> }> }>;
  exclude: Src[];
  include: { src: Src; labels: Record<string, Src>; patch: Map<string, Src> }[];
}

export interface LoadedGrid {
  grid: Grid;
  sources: GridSources;
}

/** Config paths that name files; they must stay inside the project root. */
const FILE_PATHS = ['model'];

const MAX_EXTENDS_DEPTH = 16;

// ---------------------------------------------------------------------------
// one file (the merged grid and the loader's context: merged.ts; the DSL's rules: rules.ts)

/** Read, schema-check and rule-check one file, then merge it over its parent (if any). */
function loadChain(ctx: Ctx, abs: string, chain: string[]): Merged | undefined {
  const display = ctx.display(abs);
  const { yf, diags } = readYaml(abs, display);
  ctx.diags.push(...diags);
  if (!yf) return undefined;
  ctx.files.set(abs, yf);
  const data = yf.data;
  if (data === null || data === undefined) {
    ctx.diags.push({ file: display, line: 1, col: 1, message: 'the grid file is empty (a grid needs at least "version: 1" and a "name")' });
    return undefined;
  }
  if (!isPlainObject(data as Json)) {
    ctx.diags.push(diagAt(yf, [], 'a grid file must be a YAML map of keys (version, name, base, axes, ...)'));
    return undefined;
  }
  const g = data as JsonObject;
  if (Object.keys(g).length === 0) {
    ctx.diags.push(diagAt(yf, [], 'the grid is empty (a grid needs at least "version: 1" and a "name")'));
    return undefined;
  }
  const v = getValidators();
  v.grid(g);
  for (const p of schemaProblems(v.grid.errors, g, { inPatch })) {
    const [top, axis] = p.path;
    // a list under a name that is no config path: say that, not "must be a map"
    if (top === 'axes' && p.path.length === 2 && typeof axis === 'string' && Array.isArray((g.axes as JsonObject)[axis]) && !ctx.paths.has(axis)) {
      ctx.diags.push(diagAt(yf, p.path, `a list axis must be named by the config path it sets: ${JSON.stringify(axis)} is not a config path${suggestion(axis, ctx.paths.keys())}; for named variants write a map of label -> patch`, { atKey: true }));
      continue;
    }
    ctx.diags.push(diagAt(yf, p.path, p.message, { atKey: p.atKey }));
  }

  let parent: Merged | undefined;
  if (typeof g.extends === 'string' && g.extends.length > 0) {
    parent = loadParent(ctx, yf, g.extends, chain);
    if (!parent) ctx.incomplete = true;
  }
  const merged = parent ?? emptyMerged();
  mergeFile(ctx, merged, yf, g, parent !== undefined);
  return merged;
}

function loadParent(ctx: Ctx, yf: YamlFile, ext: string, chain: string[]): Merged | undefined {
  const at = src(yf, ['extends']);
  const target = path.resolve(path.dirname(yf.file), ext);
  if (!ctx.inside(target)) {
    ctx.at(at, `extends ${JSON.stringify(ext)} leaves the project directory (the directory rlgrid runs in)`);
    return undefined;
  }
  if (!existsSync(target)) {
    ctx.at(at, `extends ${JSON.stringify(ext)}: no such file (${ctx.display(target)})`);
    return undefined;
  }
  const real = realpathSync(target);
  if (!ctx.inside(real)) {
    ctx.at(at, `extends ${JSON.stringify(ext)} leaves the project directory (the directory rlgrid runs in) through a symbolic link`);
    return undefined;
  }
  if (chain.includes(real)) {
    const cycle = [...chain.slice(chain.indexOf(real)), real].map((f) => ctx.display(f)).join(' -> ');
    ctx.at(at, `extends cycle: ${cycle}`);
    return undefined;
  }
  if (chain.length >= MAX_EXTENDS_DEPTH) {
    ctx.at(at, `extends chain deeper than ${MAX_EXTENDS_DEPTH} files`);
    return undefined;
  }
  const before = ctx.diags.length;
  const parent = loadChain(ctx, real, [...chain, real]);
  if (!parent && ctx.diags.length === before) ctx.at(at, `extends ${JSON.stringify(ext)}: the parent grid could not be loaded`);
  return parent;
}

function checkFilePath(ctx: Ctx, configPath: string, value: Json, at: Src): void {
  if (!FILE_PATHS.includes(configPath) || typeof value !== 'string') return;
  if (path.isAbsolute(value) || !ctx.inside(path.resolve(ctx.root, value)))
    ctx.at(at, `${configPath} ${JSON.stringify(value)} leaves the project directory (the directory rlgrid runs in): file paths are relative to the project root and stay inside it`);
}

/** Normalize a patch of this file, reporting clashes and file paths that leave the project. */
function filePatch(ctx: Ctx, yf: YamlFile, raw: Json, at: Seg[]): { patch: JsonObject; sources: Map<string, Src> } | undefined {
  if (!isPlainObject(raw)) return undefined;
  const n = normalizePatch(raw, at);
  for (const p of n.problems) ctx.at(src(yf, p.path), p.message, true);
  const sources = new Map<string, Src>();
  for (const [p, r] of n.sources) {
    sources.set(p, src(yf, r));
    if (FILE_PATHS.includes(p)) checkFilePath(ctx, p, n.patch[p] as Json, src(yf, r));
  }
  return { patch: n.patch, sources };
}

/** Merge one file's content over the merged parent (see docs/grid-dsl.md, "extends"). */
function mergeFile(ctx: Ctx, m: Merged, yf: YamlFile, g: JsonObject, hasParent: boolean): void {
  if (typeof g.name === 'string') {
    const problem = nameProblem(g.name, 'the grid name') ?? (RESERVED_GRID_NAMES.includes(g.name) ? `the grid name ${JSON.stringify(g.name)} is reserved: the runs directory keeps runs/${g.name}/ for itself` : undefined);
    if (problem) ctx.at(src(yf, ['name']), problem);
    m.name = { value: g.name, src: src(yf, ['name']) };
  }
  if (typeof g.description === 'string') m.description = g.description;

  const base = filePatch(ctx, yf, g.base as Json, ['base']);
  if (base) {
    // the child's base is applied like any patch; ~unset removes the parent's value for good
    const replaced: string[] = [];
    m.base = applyPatch(cloneJson(m.base), base.patch, '', replaced);
    m.baseSources = mergeSources(m.baseSources, base.patch, base.sources, replaced);
  }

  if (isPlainObject(g.axes as Json)) {
    for (const [name, value] of Object.entries(g.axes as JsonObject)) {
      const at = src(yf, ['axes', name]);
      const problem = nameProblem(name, 'an axis name');
      if (problem) ctx.at(at, problem, true);
      const old = m.axes.get(name);
      if (value === UNSET) {
        if (!old && !ctx.incomplete) ctx.at(at, `~unset removes nothing: ${hasParent ? 'the parent grid has no axis' : 'no parent grid (extends) defines an axis'} ${JSON.stringify(name)}`);
        m.axes.delete(name);
        continue;
      }
      const axis = fileAxis(ctx, yf, name, value, old, hasParent);
      // an axis keeps its place when a child redefines it
      m.axes.set(name, axis);
    }
  }

  if (Array.isArray(g.zip))
    g.zip.forEach((grp, i) => {
      if (Array.isArray(grp) && grp.every((x) => typeof x === 'string')) m.zip.push({ names: grp as string[], src: src(yf, ['zip', i]) });
    });
  if (Array.isArray(g.exclude))
    g.exclude.forEach((sel, i) => {
      if (isSelector(sel)) m.exclude.push({ sel, src: src(yf, ['exclude', i]) });
    });
  if (Array.isArray(g.include))
    g.include.forEach((inc, i) => {
      if (!isPlainObject(inc) || !isSelector(inc.labels)) return;
      const p = inc.patch === undefined ? { patch: {}, sources: new Map<string, Src>() } : filePatch(ctx, yf, inc.patch, ['include', i, 'patch']);
      if (!p) return;
      m.include.push({ labels: inc.labels, patch: p.patch, sources: p.sources, src: src(yf, ['include', i]) });
    });
  if (Array.isArray(g.claims)) {
    const names = new Map<string, number>();
    g.claims.forEach((c, i) => {
      if (isPlainObject(c) && typeof c[UNSET] === 'string') {
        const name = c[UNSET];
        const k = m.claims.findIndex((x) => x.claim.name === name);
        if (k >= 0) m.claims.splice(k, 1);
        else if (!ctx.incomplete)
          ctx.at(src(yf, ['claims', i, UNSET]), `~unset removes nothing: ${hasParent ? 'the parent grid has no claim' : 'no parent grid (extends) defines a claim'} ${JSON.stringify(name)}${suggestion(name, m.claims.map((x) => x.claim.name))}`);
        return;
      }
      if (!isPlainObject(c) || typeof c.name !== 'string' || typeof c.metric !== 'string' || !isPlainObject(c.expect)) return;
      const at = src(yf, ['claims', i]);
      if (names.has(c.name)) ctx.at(src(yf, ['claims', i, 'name']), `duplicate claim name ${JSON.stringify(c.name)} (also claims[${names.get(c.name)}])`);
      names.set(c.name, i);
      checkExpect(ctx, src(yf, ['claims', i, 'expect']), c.expect);
      const claim = c as unknown as Claim;
      const k = m.claims.findIndex((x) => x.claim.name === claim.name);
      if (k >= 0) m.claims[k] = { claim, src: at };
      else m.claims.push({ claim, src: at });
    });
  }
  if (isPlainObject(g.table as Json) && typeof (g.table as JsonObject).rows === 'string')
    m.table = { spec: g.table as unknown as TableSpec, src: src(yf, ['table']) };
}

function fileAxis(ctx: Ctx, yf: YamlFile, name: string, value: Json, old: AxisM | undefined, hasParent: boolean): AxisM {
  const at = src(yf, ['axes', name]);
  if (Array.isArray(value)) {
    if (!ctx.paths.has(name)) return { kind: 'broken', src: at }; // reported with the schema problems
    const seen = new Map<string, number>();
    value.forEach((x, i) => {
      const itemAt = src(yf, ['axes', name, i]);
      if (x !== null && typeof x === 'object') {
        ctx.at(itemAt, `a list axis takes plain values (numbers, strings, booleans, null); for maps use named variants, e.g. axes: {${name.split('.').pop()}_variant: {label: {${name}: {...}}}}`);
        return;
      }
      const label = valueLabel(x);
      if (seen.has(label)) ctx.at(itemAt, `duplicate value ${label} (also at [${seen.get(label)}])`);
      else seen.set(label, i);
      checkFilePath(ctx, name, x, itemAt);
    });
    return { kind: 'values', path: name, values: value, src: at };
  }
  if (!isPlainObject(value)) return { kind: 'broken', src: at };
  const variants = old?.kind === 'variants' ? new Map(old.variants) : new Map<string, { patch: JsonObject; sources: Map<string, Src>; src: Src }>();
  for (const [label, patch] of Object.entries(value)) {
    const lat = src(yf, ['axes', name, label]);
    const problem = labelProblem(label);
    if (problem) ctx.at(lat, `label ${JSON.stringify(label)}: ${problem}`, true);
    if (patch === UNSET) {
      if (!variants.has(label) && !ctx.incomplete)
        ctx.at(lat, `~unset removes nothing: ${hasParent ? `the parent grid's axis ${JSON.stringify(name)} has no variant` : 'no parent grid (extends) defines a variant'} ${JSON.stringify(label)}`, true);
      variants.delete(label);
      continue;
    }
    const p = filePatch(ctx, yf, patch, ['axes', name, label]);
    variants.set(label, p ? { ...p, src: lat } : { patch: {}, sources: new Map(), src: lat });
  }
  return { kind: 'variants', variants, src: at };
}

// ---------------------------------------------------------------------------
// public API

function resolveRoot(root: string | undefined): string {
  const r = path.resolve(root ?? process.cwd());
  return existsSync(r) ? realpathSync(r) : r;
}

/** Load, merge and validate a grid file with positions for later diagnostics. Throws UserError. */
export function loadGridWithSources(file: string, opts: LoadOptions = {}): LoadedGrid {
  const ctx = new Ctx(resolveRoot(opts.root));
  const abs = path.resolve(ctx.root, file);
  const real = existsSync(abs) ? realpathSync(abs) : abs;
  const merged = loadChain(ctx, real, [real]);
  const top = ctx.files.get(real);
  if (merged && top && !ctx.incomplete) checkMerged(ctx, merged, top);
  if (!merged || !top || ctx.diags.length)
    throw new UserError(ctx.diags.length ? sortDiagnostics(ctx.diags) : [{ file: ctx.display(abs), message: 'cannot load the grid' }]);
  return build(ctx, merged, real, top);
}

/** Load, merge (extends) and validate a grid file. Throws UserError listing every problem. */
export function loadGrid(file: string, opts: LoadOptions = {}): Grid {
  return loadGridWithSources(file, opts).grid;
}

function build(ctx: Ctx, m: Merged, file: string, top: YamlFile): LoadedGrid {
  const axes: Grid['axes'] = {};
  const axSrc: GridSources['axes'] = {};
  for (const [name, a] of m.axes) {
    if (a.kind === 'values') {
      axes[name] = { kind: 'values', path: a.path, values: a.values };
      axSrc[name] = { src: a.src, items: a.values.map((_, i) => src(a.src.yf, [...a.src.raw, i])) };
    } else if (a.kind === 'variants') {
      axes[name] = { kind: 'variants', variants: Object.fromEntries([...a.variants].map(([l, v]) => [l, v.patch])) };
      axSrc[name] = { src: a.src, variants: Object.fromEntries([...a.variants].map(([l, v]) => [l, { src: v.src, patch: v.sources }])) };
    }
  }
  const include = m.include.map((inc) => {
    const labels: Labels = {};
    for (const name of m.axes.keys()) {
      const a = m.axes.get(name)!;
      const want = inc.labels[name];
      labels[name] = a.kind === 'variants' ? [...a.variants.keys()].find((l) => labelMatches(l, want))! : valueLabel(want);
    }
    return { labels, patch: inc.patch };
  });
  const body = {
    version: 1 as const,
    name: m.name!.value,
    ...(m.description !== undefined ? { description: m.description } : {}),
    base: m.base,
    axes,
    zip: m.zip.map((z) => z.names),
    exclude: m.exclude.map((e) => e.sel),
    include,
    claims: m.claims.map((c) => c.claim),
    ...(m.table ? { table: m.table.spec } : {}),
  };
  const grid: Grid = { ...body, file, hash: contentHash(body) };
  const sources: GridSources = {
    root: ctx.root,
    top,
    base: m.baseSources,
    axes: axSrc,
    exclude: m.exclude.map((e) => e.src),
    include: m.include.map((inc) => ({
      src: inc.src,
      labels: Object.fromEntries(Object.keys(inc.labels).map((k) => [k, src(inc.src.yf, [...inc.src.raw, 'labels', k])])),
      patch: inc.sources,
    })),
  };
  return { grid, sources };
}
