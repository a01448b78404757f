// Reading a grid file with the `yaml` package while keeping source positions:
// every later diagnostic maps a raw path (keys and list indices) back to a
// line and column of the file it came from.
import { readFileSync, statSync } from 'node:fs';
import {
  parseDocument,
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  isPair,
  visit,
  type Document,
  type Node as YamlNode,
  type Pair,
} from 'yaml';
import type { Diagnostic } from '../util/errors.ts';
import type { Seg } from './paths.ts';
import { displayPath } from './paths.ts';

/** Keys whose values are prose, where a "#" is more likely text than the start of a comment. */
const PROSE_KEYS = new Set(['name', 'note', 'description']);

/** Aliases a file may expand before it counts as an alias bomb (yaml's maxAliasCount). */
export const MAX_ALIASES = 100;
/** Grid files are small; a bigger file is a mistake (or an attack). */
export const MAX_FILE_BYTES = 1 << 20;

/** Nesting a grid file may use (its deepest real paths are under 10); deeper is refused before parsing. */
export const MAX_DEPTH = 64;

/**
 * Where a text nests deeper than MAX_DEPTH (flow brackets plus block
 * indentation levels), found without parsing: the parser and every later
 * walk over the document recurse, and a stack overflow is no message.
 */
export function tooDeep(text: string): Located | null {
  const indents: number[] = [];
  let flow = 0;
  let quote: string | null = null;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      if (quote === "'" || quote === '"') continue; // multi-line quoted scalars
      continue;
    }
    if (atLineStart && flow === 0 && quote === null) {
      if (c === ' ') continue;
      atLineStart = false;
      if (c === '#') {
        const nl = text.indexOf('\n', i);
        i = (nl < 0 ? text.length : nl) - 1;
        continue;
      }
      const indent = i - lineStart;
      while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      if (indents.length > MAX_DEPTH) return { line, col: indent + 1 };
    }
    atLineStart = false;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      const prev = i > 0 ? text[i - 1] : ' ';
      if (/[\s[{,:]/.test(prev)) quote = c; // an opening quote, not an apostrophe inside a word
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      i = (nl < 0 ? text.length : nl) - 1;
    } else if (c === '[' || c === '{') {
      flow++;
      if (flow + indents.length > MAX_DEPTH) return { line, col: i - lineStart + 1 };
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return null;
}

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

export interface YamlFile {
  /** absolute path */
  file: string;
  /** how diagnostics name it (relative to the project root when inside it) */
  display: string;
  doc: Document.Parsed;
  lc: LineCounter;
  /** the document as plain JSON data */
  data: unknown;
}

export interface Located {
  line: number;
  col: number;
}

/**
 * Parse one YAML file. Returns the file, or the diagnostics that stop it from
 * being read: syntax errors, duplicate keys, tags other than YAML's core ones,
 * keys that are not scalars, more than one document, alias bombs.
 */
export function readYaml(file: string, display: string): { yf?: YamlFile; diags: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) return { diags: [{ file: display, message: 'not a file' }] };
    if (st.size > MAX_FILE_BYTES) return { diags: [{ file: display, message: `file too large (${st.size} bytes; a grid file is at most ${MAX_FILE_BYTES})` }] };
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { diags: [{ file: display, message: code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? String(e)})` }] };
  }
  const deep = tooDeep(text);
  if (deep) return { diags: [{ file: display, ...deep, message: `nested more than ${MAX_DEPTH} levels deep: a grid file is a few levels of maps and lists` }] };
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    merge: false,
    version: '1.2',
    schema: 'core',
  });
  const at = (offset: number): Located => lc.linePos(offset);
  const keyAt = new Map<number, string>();
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.range) keyAt.set(pair.key.range[0], String(pair.key.value));
    },
  });
  for (const e of [...doc.errors, ...doc.warnings]) {
    if (e.code === 'TAG_RESOLVE_FAILED') continue; // reported with every other tag below
    const pos = at(e.pos[0]);
    let message = e.message.split('\n')[0];
    if (e.code === 'DUPLICATE_KEY') message = `duplicate key ${JSON.stringify(keyAt.get(e.pos[0]) ?? text.slice(e.pos[0]).split(/[:\n]/)[0].trim())}`;
    else if (e.code === 'MULTIPLE_DOCS') message = 'a grid file holds one YAML document (remove the "---" separator)';
    diags.push({ file: display, line: pos.line, col: pos.col, message });
  }
  let firstAlias: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      firstAlias ??= node.range?.[0];
    },
    Node(_key, node) {
      const tag = (node as { tag?: string }).tag;
      if (tag && !CORE_TAGS.has(tag)) {
        const shown = tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
        const start = node.range?.[0] ?? 0;
        const tagAt = text.lastIndexOf(shown, start);
        const pos = at(tagAt >= 0 ? tagAt : start);
        diags.push({ file: display, line: pos.line, col: pos.col, message: `YAML tag ${shown} is not allowed (plain maps, lists, strings, numbers, booleans and null only)` });
      }
    },
    Pair(_key, pair) {
      if (pair.key !== null && !isScalar(pair.key) && !isAlias(pair.key)) {
        const pos = at((pair.key as YamlNode).range?.[0] ?? 0);
        diags.push({ file: display, line: pos.line, col: pos.col, message: 'a key must be a plain string, not a list or map' });
      }
      // "note: see issue #16" loses everything from " #" on, silently: YAML reads a comment there.
      // A comment written as one ("# like this", a space after the "#") is left alone.
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value;
      if (PROSE_KEYS.has(key) && isScalar(v) && v.type === 'PLAIN' && typeof v.value === 'string' && /^\S/.test(v.comment ?? '')) {
        const hash = text.indexOf('#', v.range?.[1] ?? 0);
        const pos = at(hash >= 0 ? hash : (v.range?.[0] ?? 0));
        const lost = `#${v.comment}`.split('\n')[0].slice(0, 40);
        diags.push({
          file: display,
          line: pos.line,
          col: pos.col,
          message: `${key}: the text ends before "${lost}" (in YAML " #" starts a comment); write it as a block (${key}: >-, then the text indented below) or in quotes`,
        });
      }
    },
  });
  if (diags.length) return { diags: sortDiags(diags) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = at(firstAlias ?? 0);
    const where = { file: display, line: pos.line, col: pos.col };
    if (/alias count/i.test(msg))
      return { diags: [{ ...where, message: `too many YAML alias expansions (more than ${MAX_ALIASES}): refusing a possible alias bomb` }] };
    const m = /alias[^:]*: (.*)$/i.exec(msg);
    return { diags: [{ ...where, message: m ? `unknown YAML alias *${m[1]}` : `cannot load the YAML: ${msg}` }] };
  }
  return { yf: { file, display, doc, lc, data }, diags };
}

function sortDiags(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function deref(doc: Document.Parsed, n: unknown): unknown {
  let cur = n;
  for (let i = 0; i < 64 && isAlias(cur); i++) cur = cur.resolve(doc);
  return cur;
}

/**
 * The node at a raw path (resolving aliases), with the map pair that holds it.
 * Stops at the deepest node that exists.
 */
function find(yf: YamlFile, raw: readonly Seg[]): { node: unknown; pair?: Pair; complete: boolean } {
  let node: unknown = yf.doc.contents;
  let pair: Pair | undefined;
  for (const seg of raw) {
    const cur = deref(yf.doc, node);
    if (isMap(cur)) {
      const p = cur.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!p) return { node: cur, pair, complete: false };
      pair = p as Pair;
      node = p.value;
    } else if (isSeq(cur) && typeof seg === 'number' && seg < cur.items.length) {
      pair = undefined;
      node = cur.items[seg];
    } else return { node: cur, pair, complete: false };
  }
  return { node, pair, complete: true };
}

/** Line and column of the value at a raw path (its key when `atKey`). */
export function locate(yf: YamlFile, raw: readonly Seg[], atKey = false): Located | undefined {
  const { node, pair, complete } = find(yf, raw);
  const range = (n: unknown): [number, number, number] | undefined => (n as YamlNode | null)?.range ?? undefined;
  let r: [number, number, number] | undefined;
  if (complete && atKey && pair) r = range(pair.key);
  else if (complete) {
    r = range(node);
    // `key:` with nothing after it: point at the key
    if (pair && (!r || (isScalar(node) && node.value === null && r[0] === r[1]))) r = range(pair.key) ?? r;
  } else r = range(node) ?? range(pair?.key);
  if (!r) return undefined;
  return yf.lc.linePos(r[0]);
}

/** A diagnostic for a raw path of a file. */
export function diagAt(yf: YamlFile, raw: readonly Seg[], message: string, opts: { atKey?: boolean; path?: string } = {}): Diagnostic {
  const pos = locate(yf, raw, opts.atKey);
  const d: Diagnostic = { file: yf.display, message };
  if (pos) {
    d.line = pos.line;
    d.col = pos.col;
  }
  const path = opts.path ?? displayPath(raw);
  if (path) d.path = path;
  return d;
}

/** Group by file (in order of first appearance), then by position; stable otherwise. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const files = [...new Set(ds.map((d) => d.file ?? ''))];
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => files.indexOf(a.d.file ?? '') - files.indexOf(b.d.file ?? '') || (a.d.line ?? 0) - (b.d.line ?? 0) || (a.d.col ?? 0) - (b.d.col ?? 0) || a.i - b.i)
    .map((x) => x.d);
}
