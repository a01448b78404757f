// The grid while its files load: the merged (in-progress) grid that each file
// of an `extends` chain is merged over, where each part was written (Src), and
// the loader's context that collects every problem as a positioned diagnostic.
// Used by load.ts (reading and merging files) and rules.ts (the DSL's rules).
import path from 'node:path';
import type { Diagnostic } from '../util/errors.ts';
import type { Json, JsonObject } from '../util/objects.ts';
import type { Claim, Selector, TableSpec } from './types.ts';
import type { Seg } from './paths.ts';
import { getValidators } from './schema.ts';
import { diagAt, type YamlFile } from './yamlfile.ts';

/** Where a value was written: a file and the raw path inside it. */
export interface Src {
  yf: YamlFile;
  raw: Seg[];
}

/** An axis of the merged grid, with where it was written. */
export type AxisM =
  | { kind: 'values'; path: string; values: Json[]; src: Src }
  | { kind: 'variants'; variants: Map<string, { patch: JsonObject; sources: Map<string, Src>; src: Src }>; src: Src }
  /** malformed in its file (already reported): accepted by references, never expanded */
  | { kind: 'broken'; src: Src };

/** The grid merged so far over the extends chain, each part with where it was written. */
export interface Merged {
  name?: { value: string; src: Src };
  description?: string;
  base: JsonObject;
  baseSources: Map<string, Src>;
  axes: Map<string, AxisM>;
  zip: { names: string[]; src: Src }[];
  exclude: { sel: Selector; src: Src }[];
  include: { labels: Selector; patch: JsonObject; sources: Map<string, Src>; src: Src }[];
  claims: { claim: Claim; src: Src }[];
  table?: { spec: TableSpec; src: Src };
}

export const emptyMerged = (): Merged => ({
  base: {},
  baseSources: new Map(),
  axes: new Map(),
  zip: [],
  exclude: [],
  include: [],
  claims: [],
});

/** One load: the project root, the files read, and every problem found so far. */
export class Ctx {
  readonly diags: Diagnostic[] = [];
  /** every file read, by absolute path */
  readonly files = new Map<string, YamlFile>();
  /** an `extends` could not be followed: the merged grid is incomplete, so its cross-references are not checked */
  incomplete = false;
  readonly paths = getValidators().paths;
  constructor(readonly root: string) {}

  at(src: Src, message: string, atKey = false, suffix?: string): void {
    const d = diagAt(src.yf, src.raw, message, { atKey });
    if (suffix) d.path = d.path ? `${d.path}.${suffix}` : suffix;
    this.diags.push(d);
  }

  display(abs: string): string {
    const rel = path.relative(this.root, abs);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
  }

  inside(abs: string): boolean {
    const rel = path.relative(this.root, abs);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  }
}

export const src = (yf: YamlFile, raw: Seg[]): Src => ({ yf, raw });

/** A raw path inside a config patch (base, a variant, an include's patch): schema problems there are config paths. */
export function inPatch(p: readonly Seg[]): boolean {
  return (p[0] === 'base' && p.length >= 2) || (p[0] === 'axes' && p.length >= 3) || (p[0] === 'include' && p[2] === 'patch' && p.length >= 4);
}
