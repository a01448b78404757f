// Config patches: the `base`, each named variant, each include. A patch's
// top-level keys may be dotted config paths; normalizePatch() turns them into
// nested objects and remembers where each key was written. applyPatch() is
// the one merge rule of the DSL:
//   - maps merge key by key; lists and scalars replace;
//   - null is a value: it sets the key to null (train.clip: null = Clip-Free);
//   - the string "~unset" removes the key, so the default applies again.
import { cloneJson, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Seg } from './paths.ts';
import { UNSET } from './schema.ts';
import { METHOD_DEFAULTS } from '../config/job.ts';

export { UNSET };

/** config path (dotted) -> raw path of the YAML value that set it */
export type PatchSources = Map<string, Seg[]>;

export interface NormalizedPatch {
  patch: JsonObject;
  sources: PatchSources;
  problems: { path: Seg[]; message: string }[];
}

/**
 * Nest a patch's dotted keys. `at` is the raw path of the patch in its file.
 * A key set twice (`train: {clip: ...}` and `train.clip: ...`) is a problem;
 * maps written in two places merge.
 */
export function normalizePatch(raw: JsonObject, at: readonly Seg[]): NormalizedPatch {
  const patch: JsonObject = {};
  const sources: PatchSources = new Map();
  const problems: { path: Seg[]; message: string }[] = [];
  const record = (prefix: string, rawPath: Seg[], v: Json) => {
    sources.set(prefix, rawPath);
    if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) record(`${prefix}.${k}`, [...rawPath, k], x);
  };
  for (const [key, value] of Object.entries(raw)) {
    const segs = key.split('.');
    const rawPath = [...at, key];
    // never write through the prototype chain (the schema reports the unknown key)
    if (segs.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype')) continue;
    let cur = patch;
    let prefix = '';
    let ok = true;
    for (const s of segs.slice(0, -1)) {
      prefix = prefix ? `${prefix}.${s}` : s;
      if (cur[s] === undefined) cur[s] = {};
      else if (!isPlainObject(cur[s])) {
        problems.push({ path: rawPath, message: `${prefix} is already set to a value in this patch (${shortJson(cur[s])}); it cannot also have keys` });
        ok = false;
        break;
      }
      cur = cur[s] as JsonObject;
    }
    if (!ok) continue;
    const last = segs[segs.length - 1];
    const full = segs.join('.');
    if (cur[last] === undefined) cur[last] = cloneJson(value);
    else {
      const clash = mergeInto(cur, last, value, full);
      if (clash) {
        problems.push({ path: rawPath, message: `${clash} is set twice in this patch` });
        continue;
      }
    }
    record(full, rawPath, value);
  }
  return { patch, sources, problems };
}

/** Merge `value` into obj[key] for two spellings of one patch; returns a clashing path or undefined. */
function mergeInto(obj: JsonObject, key: string, value: Json, path: string): string | undefined {
  const existing = obj[key];
  if (!isPlainObject(existing) || !isPlainObject(value)) return path;
  for (const [k, v] of Object.entries(value)) {
    if (existing[k] === undefined) existing[k] = cloneJson(v);
    else {
      const clash = mergeInto(existing, k, v, `${path}.${k}`);
      if (clash) return clash;
    }
  }
  return undefined;
}

function shortJson(v: Json): string {
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/** Copy of a patch value with its "~unset" keys dropped (nothing below a replaced value to unset). */
function withoutUnset(v: Json): Json {
  if (!isPlainObject(v)) return cloneJson(v);
  const out: JsonObject = {};
  for (const k in v) if (v[k] !== UNSET) out[k] = withoutUnset(v[k]);
  return out;
}

/** Method blocks whose mode key selects their parameters: config path -> mode key. */
export const MODE_KEYS: ReadonlyMap<string, string> = new Map(
  Object.entries(METHOD_DEFAULTS)
    .filter(([, spec]) => spec.key !== '')
    .map(([p, spec]) => [p, spec.key]),
);

/**
 * Apply a patch onto `target` in place (see the rule at the top of this file),
 * plus one rule for method blocks (MODE_KEYS): a patch that gives a block a
 * mode other than the one the block already names replaces the whole block, so
 * one mode's parameters never leak into another (clip-cov's ratio into
 * kl-cov). Paths of replaced blocks are pushed onto `replaced`.
 */
export function applyPatch(target: JsonObject, patch: JsonObject, at = '', replaced?: string[]): JsonObject {
  for (const k in patch) {
    const v = patch[k];
    if (v === UNSET) delete target[k];
    else if (isPlainObject(v)) {
      const t = target[k];
      const p = at ? `${at}.${k}` : k;
      const modeKey = MODE_KEYS.get(p);
      if (isPlainObject(t) && !(modeKey && typeof v[modeKey] === 'string' && t[modeKey] !== undefined && t[modeKey] !== v[modeKey]))
        applyPatch(t, v, p, replaced);
      else {
        if (isPlainObject(t)) replaced?.push(p);
        target[k] = withoutUnset(v);
      }
    } else target[k] = cloneJson(v);
  }
  return target;
}

/** A patch that sets one dotted path. */
export function pathPatch(path: string, value: Json): JsonObject {
  const segs = path.split('.');
  const root: JsonObject = {};
  let cur = root;
  for (const s of segs.slice(0, -1)) cur = cur[s] = {};
  cur[segs[segs.length - 1]] = value;
  return root;
}

/**
 * Merge the sources of a patch applied over `base` sources: the patch's keys
 * win; a key it replaces (by a non-map, by ~unset, or a method block given a
 * new mode: `replaced` from applyPatch) drops what was below it.
 */
export function mergeSources<T>(base: Map<string, T>, patch: JsonObject, sources: Map<string, T>, replaced: string[] = []): Map<string, T> {
  const out = new Map(base);
  const drop = (p: string) => {
    for (const k of [...out.keys()]) if (k === p || k.startsWith(p + '.')) out.delete(k);
  };
  for (const p of replaced) drop(p);
  for (const [p, src] of sources) {
    const v = getDotted(patch, p);
    if (!isPlainObject(v)) drop(p);
    if (v !== UNSET) out.set(p, src);
  }
  return out;
}

function getDotted(obj: JsonObject, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const s of path.split('.')) cur = isPlainObject(cur) ? cur[s] : undefined;
  return cur;
}
