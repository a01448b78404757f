// The planner's fast path. Most jobs of a big grid differ only in list-axis
// values on plain config leaves (seed, train.optimizer.lr, ...): those jobs
// share everything else. For each combination of the other axes the planner
// resolves one template, with a unique sentinel string in every such leaf
// ("slot"), validates it once, and serializes it once; a job is then a copy
// of the template with its values written in, and its canonical JSON is the
// template's text with the values' JSON spliced in. The result is the same
// config, the same key order and the same id as the general path (a test runs
// both), and any job the fast path cannot vouch for goes the general way.
import { DEFAULT_JOB, METHOD_DEFAULTS, resolveJob, type JobConfig } from '../config/job.ts';
import { cloneJson, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Grid } from './types.ts';
import { applyPatch, pathPatch } from './patch.ts';
import { canonicalFast } from './hash.ts';
import { getValidators, jobSchema, UNSET, type Schema } from './schema.ts';
import type { ValidateFunction } from 'ajv';

/** Schema keywords that tie a node's properties together; a slot's ancestors must have none. */
const COUPLING = ['oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', 'dependentRequired', 'dependentSchemas', 'patternProperties', 'propertyNames', 'unevaluatedProperties', 'minProperties', 'maxProperties', '$ref', '$dynamicRef'];

const slotableCache = new Map<string, boolean>();

/**
 * A config path whose value can change without changing anything else of the
 * resolved job or of its validity: a scalar leaf of DEFAULT_JOB, outside the
 * method blocks (whose mode decides their defaults), whose ancestors in the
 * job schema are plain objects (so the leaf is validated on its own).
 */
export function slotablePath(p: string): boolean {
  const hit = slotableCache.get(p);
  if (hit !== undefined) return hit;
  const ok = computeSlotable(p);
  slotableCache.set(p, ok);
  return ok;
}

function computeSlotable(p: string): boolean {
  if (Object.keys(METHOD_DEFAULTS).some((m) => p === m || p.startsWith(m + '.') || m.startsWith(p + '.'))) return false;
  const segs = p.split('.');
  let cur: Json = DEFAULT_JOB as unknown as Json;
  let node: Schema = jobSchema();
  for (const s of segs) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, s)) return false;
    if (COUPLING.some((k) => k in node) || !isPlainObject(node.properties) || !(s in node.properties)) return false;
    cur = cur[s];
    node = node.properties[s] as Schema;
  }
  return cur === null || typeof cur !== 'object';
}

interface Slot {
  axis: number;
  parent: string[];
  key: string;
  sentinel: string;
}

interface Template {
  ok: boolean;
  config?: JsonObject;
  /** canonical text split around the slots; fragments.length = order.length + 1 */
  fragments?: string[];
  /** slot index at each splice point */
  order?: number[];
  make?: (template: JsonObject, values: Json[]) => JsonObject;
}

export class Templates {
  private readonly slots: Slot[] = [];
  private readonly slotOfAxis: (Slot | undefined)[];
  private readonly others: number[] = [];
  private readonly strides: number[] = [];
  private readonly cache = new Map<number, Template>();
  /** per slot, per value index: value JSON (canonical) and validity */
  private readonly valueJson: string[][] = [];
  private readonly valueOk: (boolean | undefined)[][] = [];
  private readonly validators: ValidateFunction[] = [];
  readonly enabled: boolean;

  constructor(
    private readonly grid: Grid,
    private readonly names: string[],
    private readonly values: (Json[] | undefined)[],
    private readonly patches: JsonObject[][],
  ) {
    this.slotOfAxis = names.map(() => undefined);
    names.forEach((name, i) => {
      const a = grid.axes[name];
      const vs = values[i];
      if (a.kind === 'values' && vs && slotablePath(a.path) && vs.every((v) => v === null || (typeof v !== 'object' && v !== UNSET))) {
        const segs = a.path.split('.');
        const slot: Slot = { axis: i, parent: segs.slice(0, -1), key: segs[segs.length - 1], sentinel: `\u0000rlgrid-slot-${this.slots.length}\u0000` };
        this.slotOfAxis[i] = slot;
        this.valueJson.push(vs.map((v) => canonicalFast(v)));
        this.valueOk.push(vs.map(() => undefined));
        this.validators.push(getValidators().leaf(a.path));
        this.slots.push(slot);
      } else this.others.push(i);
    });
    let stride = 1;
    for (const i of this.others) {
      this.strides.push(stride);
      stride *= patches[i].length;
    }
    this.enabled = this.slots.length > 0;
  }

  private key(choice: number[]): number {
    let k = 0;
    for (let j = 0; j < this.others.length; j++) k += choice[this.others[j]] * this.strides[j];
    return k;
  }

  private build(choice: number[]): Template {
    const partial = cloneJson(this.grid.base);
    this.patches.forEach((entries, i) => {
      const slot = this.slotOfAxis[i];
      const a = this.grid.axes[this.names[i]];
      applyPatch(partial, slot && a.kind === 'values' ? pathPatch(a.path, slot.sentinel) : entries[choice[i]]);
    });
    const resolved = resolveJob(partial) as unknown as JsonObject;
    for (const s of this.slots) if (parentOf(resolved, s.parent)?.[s.key] !== s.sentinel) return { ok: false };
    const text = canonicalFast(resolved);
    const marks = this.slots.map((s, si) => ({ si, q: JSON.stringify(s.sentinel), at: text.indexOf(JSON.stringify(s.sentinel)) }));
    if (marks.some((m) => m.at < 0 || text.indexOf(m.q, m.at + 1) >= 0)) return { ok: false };
    marks.sort((a, b) => a.at - b.at);
    const fragments: string[] = [];
    let pos = 0;
    for (const m of marks) {
      fragments.push(text.slice(pos, m.at));
      pos = m.at + m.q.length;
    }
    fragments.push(text.slice(pos));
    const t: Template = { ok: true, config: resolved, fragments, order: marks.map((m) => m.si) };
    // the template's own parts must be valid: check one real job of it in full
    const first = this.fill(t, choice);
    if (!getValidators().jobFast(first)) t.ok = false;
    return t;
  }

  private fill(t: Template, choice: number[]): JobConfig {
    t.make ??= compileCopier(t.config!, this.slots);
    const vals = this.slots.map((s) => this.values[s.axis]![choice[s.axis]]);
    return t.make(t.config!, vals) as unknown as JobConfig;
  }

  /** The resolved config and canonical JSON of a product job, or undefined: use the general path. */
  job(choice: number[]): { config: JobConfig; canonical: string } | undefined {
    const k = this.key(choice);
    let t = this.cache.get(k);
    if (!t) {
      t = this.build(choice);
      this.cache.set(k, t);
    }
    if (!t.ok) return undefined;
    for (let si = 0; si < this.slots.length; si++) {
      const vi = choice[this.slots[si].axis];
      let ok = this.valueOk[si][vi];
      if (ok === undefined) ok = this.valueOk[si][vi] = this.validators[si](this.values[this.slots[si].axis]![vi]) as boolean;
      if (!ok) return undefined;
    }
    const config = this.fill(t, choice);
    const f = t.fragments!;
    const order = t.order!;
    let canonical = f[0];
    for (let j = 0; j < order.length; j++) canonical += this.valueJson[order[j]][choice[this.slots[order[j]].axis]] + f[j + 1];
    return { config, canonical };
  }
}

function parentOf(obj: JsonObject, segs: string[]): JsonObject | undefined {
  let cur: Json = obj;
  for (const s of segs) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[s];
  }
  return isPlainObject(cur) ? cur : undefined;
}

/**
 * A function that builds a fresh copy of `template` (same keys, same order)
 * with each slot's value in place: object literals of a fixed shape, which V8
 * creates far faster than a generic recursive copy.
 */
function compileCopier(template: JsonObject, slots: Slot[]): (template: JsonObject, values: Json[]) => JsonObject {
  const slotAt = new Map(slots.map((s, i) => [[...s.parent, s.key].join('\u0000'), i]));
  const gen = (v: Json, expr: string, at: string[]): string => {
    const i = slotAt.get(at.join('\u0000'));
    if (i !== undefined && at.length) return `v[${i}]`;
    if (isPlainObject(v)) return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${gen(v[k], `${expr}[${JSON.stringify(k)}]`, [...at, k])}`).join(',')}}`;
    if (Array.isArray(v)) return `c(${expr})`;
    return expr;
  };
  const keys = (v: Json): string[] => (isPlainObject(v) ? Object.keys(v).flatMap((k) => [k, ...keys(v[k])]) : []);
  if (keys(template).includes('__proto__')) {
    // an object literal would set the prototype: copy the slow way
    return (t, v) => {
      const out = cloneJson(t);
      slots.forEach((s, i) => (parentOf(out, s.parent)![s.key] = v[i]));
      return out;
    };
  }
  const body = `return ${gen(template, 't', [])};`;
  const f = new Function('c', 't', 'v', body) as (c: typeof cloneJson, t: JsonObject, v: Json[]) => JsonObject;
  return (t, v) => f(cloneJson, t, v);
}
