// Turning ajv's errors into one clear message per problem. With allErrors,
// ajv reports every branch of a oneOf/anyOf and a wrapper error for each
// if/then/else; users want the one branch that fits their value ("must be a
// number"), or, when none fits, what the value may be ("must be null or an
// object"). Unknown keys get a did-you-mean against the keys allowed there.
import type { ErrorObject } from 'ajv';
import type { Seg } from './paths.ts';
import { suggestion } from './paths.ts';

export interface Problem {
  /** raw path of the value (the key's own path for unknown keys) */
  path: Seg[];
  /** point at the key rather than the value */
  atKey?: boolean;
  message: string;
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  integer: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  null: 'null',
  object: 'a map',
  array: 'a list',
};

function typeWords(t: unknown): string {
  const ts = Array.isArray(t) ? (t as string[]) : [String(t)];
  return ts.map((x) => TYPE_WORDS[x] ?? x).join(' or ');
}

function list(vs: unknown[]): string {
  return vs.map((v) => JSON.stringify(v)).join(', ');
}

/** JSON pointer -> raw path; list indices become numbers where the data holds a list. */
export function pointerToPath(pointer: string, data: unknown): Seg[] {
  if (!pointer) return [];
  const out: Seg[] = [];
  let cur: unknown = data;
  for (const enc of pointer.slice(1).split('/')) {
    const s = enc.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^\d+$/.test(s)) {
      out.push(Number(s));
      cur = cur[Number(s)];
    } else {
      out.push(s);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[s] : undefined;
    }
  }
  return out;
}

function valueAt(data: unknown, path: readonly Seg[]): unknown {
  let cur = data;
  for (const s of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[s as string] : undefined;
  return cur;
}

/** "must be ..." for one failed keyword (no position). */
export function keywordMessage(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `must be ${typeWords(p.type)}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'enum':
      return `must be one of ${list(p.allowedValues as unknown[])}`;
    case 'required':
      return `missing required key ${JSON.stringify(p.missingProperty)}`;
    case 'minItems':
      return p.limit === 1 ? 'must not be an empty list' : `must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'minProperties':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} keys`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`;
    default:
      return e.message ?? e.keyword;
  }
}

interface Branch {
  index: number;
  errors: ErrorObject[];
}

/** Does the branch fail because the value is of another kind (type/const at the value, or its mode key)? */
function mismatch(b: Branch, at: string): ErrorObject | undefined {
  return b.errors.find(
    (e) =>
      ((e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'enum' || e.keyword === '$mismatch') && e.instancePath === at) ||
      (e.keyword === 'const' && e.instancePath.startsWith(at + '/') && !e.instancePath.slice(at.length + 1).includes('/')),
  );
}

/** Replace each failed oneOf/anyOf by the errors of the branch that fits, or one summary error. */
function reduceUnions(errors: ErrorObject[], data: unknown): ErrorObject[] {
  let errs = errors.filter((e) => e.keyword !== 'if');
  const unions = errs
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const u of unions) {
    if (!errs.includes(u)) continue;
    const prefix = u.schemaPath + '/';
    const inside = errs.filter((e) => e !== u && e.schemaPath.startsWith(prefix) && (e.instancePath === u.instancePath || e.instancePath.startsWith(u.instancePath + '/')));
    if (inside.length === 0) continue; // "must match exactly one": passed several branches; keep ajv's text
    const byBranch = new Map<number, Branch>();
    for (const e of inside) {
      const idx = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      const b = byBranch.get(idx) ?? { index: idx, errors: [] };
      b.errors.push(e);
      byBranch.set(idx, b);
    }
    const branches = [...byBranch.values()].sort((a, b) => a.index - b.index);
    const fitting = branches.filter((b) => !mismatch(b, u.instancePath));
    let replacement: ErrorObject[];
    if (fitting.length > 0) {
      replacement = fitting.reduce((best, b) => (b.errors.length < best.errors.length ? b : best)).errors;
    } else {
      const value = valueAt(data, pointerToPath(u.instancePath, data));
      const isObj = value !== null && typeof value === 'object' && !Array.isArray(value);
      // every object branch rejects the mode key: say which modes exist
      const modeMisses = branches.map((b) => mismatch(b, u.instancePath)!).filter((e) => e.keyword === 'const' && e.instancePath !== u.instancePath);
      if (isObj && modeMisses.length > 0 && modeMisses.every((e) => e.instancePath === modeMisses[0].instancePath)) {
        replacement = [{ ...modeMisses[0], keyword: 'enum', params: { allowedValues: modeMisses.map((e) => (e.params as { allowedValue: unknown }).allowedValue) } }];
      } else {
        const words: string[] = [];
        for (const b of branches) {
          const m = mismatch(b, u.instancePath)!;
          const w = m.keyword === 'type' ? typeWords((m.params as { type: unknown }).type)
            : m.keyword === 'const' && m.instancePath === u.instancePath ? JSON.stringify((m.params as { allowedValue: unknown }).allowedValue)
            : m.keyword === 'enum' ? `one of ${list((m.params as { allowedValues: unknown[] }).allowedValues)}`
            : m.keyword === '$mismatch' ? String(m.message).replace(/^must be /, '')
            : 'a map';
          for (const part of w.split(' or ')) if (!words.includes(part)) words.push(part);
        }
        replacement = [{ ...u, keyword: '$mismatch', params: {}, message: `must be ${words.join(' or ')}` }];
      }
    }
    errs = errs.filter((e) => e !== u && !inside.includes(e));
    errs.push(...replacement);
  }
  return errs;
}

export interface MessageOptions {
  /** true where a path lies in a config patch (null there can mean "set to null") */
  inPatch?: (path: readonly Seg[]) => boolean;
}

/** Clear, located problems from ajv's errors, deduplicated, in document order of their paths. */
export function schemaProblems(errors: ErrorObject[] | null | undefined, data: unknown, opts: MessageOptions = {}): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    const k = JSON.stringify([p.path, p.message]);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(p);
    }
  };
  for (const e of reduceUnions(errors ?? [], data)) {
    const path = pointerToPath(e.instancePath, data);
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const comment = (e.parentSchema as { $comment?: string } | undefined)?.$comment;
      const message = comment
        ? `unknown key ${JSON.stringify(key)} for ${comment} (its keys: ${allowed.join(', ')})`
        : `unknown key ${JSON.stringify(key)}${suggestion(key, allowed) || (allowed.length && allowed.length <= 12 ? ` (allowed: ${allowed.join(', ')})` : '')}`;
      push({ path: [...path, key], atKey: true, message });
      continue;
    }
    let message = e.keyword === '$mismatch' ? String(e.message) : keywordMessage(e);
    if (e.keyword === 'type' || e.keyword === '$mismatch') {
      const v = valueAt(data, path);
      if (v === null && opts.inPatch?.(path)) message += ' (null sets a value to null; to restore the default write ~unset)';
      else if (typeof v === 'number' && !Number.isFinite(v)) message += ` (got ${String(v)})`;
    }
    push({ path, message });
  }
  return out;
}
