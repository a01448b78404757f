// Field paths as users read them in error messages, and small string helpers
// (did-you-mean, safe names) shared by the loader and the planner.

import damerauLevenshtein from 'damerau-levenshtein';

/** A segment of a raw path inside a YAML document: a map key or a list index. */
export type Seg = string | number;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A key as it appears in a dotted path: bare when it is an identifier, else JSON-quoted. */
export function quoteSeg(s: string): string {
  return IDENT.test(s) ? s : JSON.stringify(s);
}

/** Join segments: identifiers bare, other keys quoted, list indices as [i]. */
export function joinSegs(segs: readonly Seg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += (out ? '.' : '') + quoteSeg(s);
  }
  return out;
}

/**
 * Index (in a raw path of a grid file) of the first key of a config patch, or
 * -1. Patch keys are dotted config paths (`train.clip`), so they print split
 * at the dots: axes.method."Clip-Higher".train.clip.high.
 */
function patchKeyIndex(raw: readonly Seg[]): number {
  if (raw[0] === 'base') return 1;
  if (raw[0] === 'axes' && typeof raw[2] === 'string') return 3;
  if (raw[0] === 'include' && typeof raw[1] === 'number' && raw[2] === 'patch') return 3;
  return -1;
}

/** The field path of a raw grid-file path, for diagnostics. */
export function displayPath(raw: readonly Seg[]): string {
  const k = patchKeyIndex(raw);
  const segs: Seg[] = [];
  raw.forEach((s, i) => {
    if (i === k && typeof s === 'string' && s.includes('.')) segs.push(...s.split('.'));
    else segs.push(s);
  });
  return joinSegs(segs);
}

/** Edit distance with adjacent transpositions (optimal string alignment, the damerau-levenshtein package): "hihg" -> "high" is 1. */
export function editDistance(a: string, b: string): number {
  return damerauLevenshtein(a, b).steps;
}

/**
 * The closest candidate when it is close enough to be a plausible typo:
 * edit distance <= max(1, floor(len / 3)); a match that differs only in case
 * wins over any edit. Ties go to the earlier candidate. Failing that, a bare
 * key suggests the first dotted candidate ending in it (lr ->
 * train.optimizer.lr).
 */
export function didYouMean(word: string, candidateList: Iterable<string>): string | undefined {
  const candidates = [...candidateList];
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = c.toLowerCase() === lower ? 0.5 : editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  if (best !== undefined && bestD <= limit) return best;
  // a bare key meant as a config path: "lr" -> "train.optimizer.lr"
  if (!word.includes('.')) for (const c of candidates) if (c.endsWith(`.${word}`)) return c;
  return undefined;
}

/** " (did you mean "x"?)" or "". */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : ` (did you mean ${JSON.stringify(s)}?)`;
}

/**
 * Why a variant label is not usable, or undefined when it is. Labels end up in
 * tables, file names of figures and shell command lines, so they stay within
 * letters, digits, space and . _ - ( ) + = < > , % (the study's row names,
 * e.g. "A>=0 only", need < > =). No leading '.', '-' or space, no trailing
 * space or '.', no "..", at most 64 characters.
 */
export function labelProblem(label: string): string | undefined {
  if (label.length === 0) return 'a label must not be empty';
  if (label.length > 64) return 'a label must be at most 64 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(label)) return 'a label must not contain control characters';
  const bad = label.match(/[^A-Za-z0-9 ._()+=<>,%-]/);
  if (bad) return `character ${JSON.stringify(bad[0])} is not allowed in a label (use letters, digits, space and . _ - ( ) + = < > , %)`;
  if (label.includes('..')) return 'a label must not contain ".."';
  if (/^[.\- ]/.test(label)) return 'a label must not start with ".", "-" or a space';
  if (/[ .]$/.test(label)) return 'a label must not end with a space or "."';
  return undefined;
}

/**
 * Why a grid or axis name is not usable, or undefined. Grid names name the
 * run directory (runs/<name>); axis names are table columns and selector
 * keys: letters, digits, '.', '_' and '-', starting with a letter or digit.
 */
export function nameProblem(name: string, what: string): string | undefined {
  if (name.length === 0) return `${what} must not be empty`;
  if (name.length > 64) return `${what} must be at most 64 characters`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..'))
    return `${what} ${JSON.stringify(name)} is not safe as a directory name (use letters, digits, '.', '_' and '-', starting with a letter or digit, no "..")`;
  return undefined;
}
