// Plain-object helpers shared by config resolution and the grid planner.
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep copy of plain JSON data (faster than structuredClone on the planner's small objects). */
export function cloneJson<T extends Json>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  const out: JsonObject = {};
  for (const k in v) out[k] = cloneJson((v as JsonObject)[k]);
  return out as T;
}

export function deepClone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * Merge `patch` over `base` (neither is modified). Objects merge key by key;
 * arrays and scalars replace; a `null` in the patch deletes the key when
 * `nullDeletes` is set (grid patches), else sets it to null (config values
 * such as `clip: null` that mean "off").
 */
export function deepMerge(base: Json, patch: Json, nullDeletes = false): Json {
  if (!isPlainObject(base) || !isPlainObject(patch)) return deepClone(patch);
  const out: JsonObject = deepClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null && nullDeletes) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = deepMerge(out[k], v, nullDeletes);
    else out[k] = deepClone(v);
  }
  return out;
}

export function getPath(obj: Json, path: readonly string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Set a value at a path, creating objects on the way (mutates obj). */
export function setPath(obj: JsonObject, path: readonly string[], value: Json): void {
  let cur: JsonObject = obj;
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {};
    cur = cur[k] as JsonObject;
  }
  cur[path[path.length - 1]] = value;
}

/** Flatten nested objects into dotted paths (arrays stay leaves). */
export function flatten(obj: Json, prefix = ''): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!isPlainObject(obj) || Object.keys(obj).length === 0) {
    if (prefix) out[prefix] = obj;
    return out;
  }
  for (const [k, v] of Object.entries(obj)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}
