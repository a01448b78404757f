// Job ids: sha256 of the RFC 8785 canonical JSON of the resolved config, cut
// to 12 hex chars (src/util/canonical.ts shortId). The planner hashes every
// job, so this serializer is a faster equivalent of canonicalJson(): the same
// output for every JSON value (a test compares the two), the same refusals
// (NaN, Infinity, lone surrogates). It caches the sorted key order per
// position in the tree, because every job config has the same shape.
import * as crypto from 'node:crypto';
import type { Json } from '../util/objects.ts';

interface KeyCache {
  keys: string[] | undefined;
  sorted: string[];
  children: Map<string, KeyCache>;
}

const newCache = (): KeyCache => ({ keys: undefined, sorted: [], children: new Map() });
let root = newCache();
let cachedNodes = 0;
const MAX_CACHED_NODES = 10_000;

const SURROGATE = /[\uD800-\uDFFF]/;
function checkString(s: string): string {
  if (SURROGATE.test(s)) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const n = s.charCodeAt(i + 1);
        if (!(n >= 0xdc00 && n <= 0xdfff)) throw new Error('Lone surrogate is not allowed');
        i++;
      } else if (c >= 0xdc00 && c <= 0xdfff) throw new Error('Lone surrogate is not allowed');
    }
  }
  return JSON.stringify(s);
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function child(c: KeyCache, k: string): KeyCache {
  let n = c.children.get(k);
  if (!n) {
    if (++cachedNodes > MAX_CACHED_NODES) {
      // unusual data: start over rather than grow without bound
      root = newCache();
      cachedNodes = 0;
    }
    n = newCache();
    c.children.set(k, n);
  }
  return n;
}

function ser(v: unknown, c: KeyCache): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return checkString(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Error(Number.isNaN(v) ? 'NaN is not allowed' : 'Infinity is not allowed');
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(v)) {
        const el = child(c, '[]');
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          s += (i ? ',' : '') + (x === undefined || typeof x === 'symbol' || typeof x === 'function' ? 'null' : ser(x, el));
        }
        return s + ']';
      }
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw new Error('canonicalFast: toJSON values are not supported');
      const keys = Object.keys(v);
      let sorted: string[];
      if (c.keys !== undefined && sameKeys(c.keys, keys)) sorted = c.sorted;
      else {
        sorted = [...keys].sort();
        c.keys = keys;
        c.sorted = sorted;
      }
      let s = '{';
      let first = true;
      for (const k of sorted) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'symbol' || typeof x === 'function') continue;
        s += (first ? '' : ',') + checkString(k) + ':' + ser(x, child(c, k));
        first = false;
      }
      return s + '}';
    }
    default:
      throw new Error(`canonicalFast: cannot serialize a ${typeof v}`);
  }
}

/** RFC 8785 canonical JSON; identical to canonicalJson() of src/util/canonical.ts on JSON values. */
export function canonicalFast(v: Json): string {
  return ser(v, root);
}

const sha256hex: (s: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (s) => crypto.hash('sha256', s, 'hex')
    : (s) => crypto.createHash('sha256').update(s).digest('hex');

/** Full sha256 and the 12-hex-char job id of a resolved config. */
export function configHash(config: Json): { hash: string; id: string } {
  return canonicalHash(canonicalFast(config));
}

/** Full sha256 and job id of a config's canonical JSON text. */
export function canonicalHash(canonical: string): { hash: string; id: string } {
  const hash = sha256hex(canonical);
  return { hash, id: hash.slice(0, 12) };
}
