// Terminal tables that fit the terminal: every text table of the CLI goes
// through fitTable(). The user picks columns (--columns), orders rows
// (--sort) and keeps some (--filter); then, unless --wide, long cells are
// cut with "…" down to a floor and, if that is not enough, the least
// important columns are hidden and named in a note. Nothing is hidden when
// the width is unknown (output to a file or pipe without $COLUMNS).
import { createRequire } from 'node:module';
import { minimatch } from 'minimatch';
import { UserError } from '../util/errors.ts';
import { suggestion } from '../grid/paths.ts';

export interface FitOptions {
  /** the width to fit; undefined or Infinity: no fitting */
  width?: number;
  /** --columns: header names (case-insensitive; globs allowed), in the order to show */
  columns?: readonly string[];
  /** --sort: a header name, `-name` for descending (numbers compare as numbers) */
  sort?: string;
  /** --filter: `name=glob`, `name!=glob`, `name>x`, `name<x`, `name>=x`, `name<=x` (all must hold) */
  filter?: readonly string[];
  /** columns never hidden (indices into head), e.g. the row label and id */
  keep?: readonly number[];
  /** columns in order of importance (indices); the rest follow in table order. The last ones go first. */
  priority?: readonly number[];
  /** columns whose cells may be cut with "…" (default: all but keep) */
  truncatable?: (i: number) => boolean;
  align?: readonly ('left' | 'right')[];
  color?: boolean;
  /** the header colour when `color` (cli-table3's default is red) */
  headColor?: string;
  /** no horizontal rules between rows (cli-table3 `compact`) */
  compact?: boolean;
  /** no rule under the header either (the plan's style) */
  noRules?: boolean;
}

export interface Fitted {
  text: string;
  /** headers of the columns hidden to fit the width */
  hidden: string[];
}

/** Cells are never cut below this many characters (or their own length). */
const MIN_CELL = 10;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export const visibleLength = (s: string): number => Math.max(0, ...s.replace(ANSI, '').split('\n').map((l) => [...l].length));

/**
 * The width to fit: $COLUMNS when set (a positive integer), else the
 * terminal's width when stdout is one, else undefined (no limit).
 */
export function terminalWidth(): number | undefined {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  if (process.stdout.isTTY && (process.stdout.columns ?? 0) > 0) return process.stdout.columns;
  return undefined;
}

/** Pick the columns a --columns list names, in its order. */
function pickColumns(head: readonly string[], names: readonly string[]): number[] {
  const out: number[] = [];
  for (const name of names.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean)) {
    const hits = head.map((h, i) => [h, i] as const).filter(([h]) => h.toLowerCase() === name.toLowerCase() || minimatch(h.toLowerCase(), name.toLowerCase(), { nonegate: true, noglobstar: true }));
    if (hits.length === 0) throw new UserError(`--columns ${name}: no such column${suggestion(name, head)} (columns: ${head.join(', ')})`);
    for (const [, i] of hits) if (!out.includes(i)) out.push(i);
  }
  return out;
}

function columnIndex(head: readonly string[], name: string, opt: string): number {
  const i = head.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  if (i < 0) throw new UserError(`${opt}: no column "${name}"${suggestion(name, head)} (columns: ${head.join(', ')})`);
  return i;
}

/** The leading number of a cell ("45.31 ± 1.20" -> 45.31, "3/40" -> 3), or NaN. */
export function cellNumber(s: string): number {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)/i.exec(s.replace(ANSI, ''));
  return m ? Number(m[1]) : NaN;
}

/** Numbers as numbers, text as text; `desc` reverses both but a cell without a number ("—") stays after numbers. */
function compareCells(a: string, b: string, desc: boolean): number {
  const x = cellNumber(a);
  const y = cellNumber(b);
  const sign = desc ? -1 : 1;
  if (!Number.isNaN(x) && !Number.isNaN(y)) return sign * (x - y);
  if (!Number.isNaN(x)) return -1;
  if (!Number.isNaN(y)) return 1;
  return sign * a.localeCompare(b);
}

/** The rows a list of --filter specs keeps. */
export function filterRows(head: readonly string[], rows: string[][], filters: readonly string[]): string[][] {
  let out = rows;
  for (const f of filters) {
    const m = /^([^=!<>]+?)\s*(!=|>=|<=|=|>|<)\s*(.*)$/.exec(f);
    if (!m) throw new UserError(`--filter ${f}: expected COLUMN=GLOB, COLUMN!=GLOB or COLUMN>NUMBER (also <, >=, <=)`);
    const i = columnIndex(head, m[1].trim(), `--filter ${f}`);
    const [op, want] = [m[2], m[3]];
    if (op === '=' || op === '!=') {
      const hit = (c: string) => c === want || minimatch(c, want, { nonegate: true, noglobstar: true, nocase: true });
      out = out.filter((r) => hit(r[i] ?? '') === (op === '='));
    } else {
      const x = Number(want);
      if (!Number.isFinite(x)) throw new UserError(`--filter ${f}: ${op} needs a number, got "${want}"`);
      const test = { '>': (v: number) => v > x, '<': (v: number) => v < x, '>=': (v: number) => v >= x, '<=': (v: number) => v <= x }[op as '>']!;
      out = out.filter((r) => test(cellNumber(r[i] ?? '')));
    }
  }
  return out;
}

export function sortRows(head: readonly string[], rows: string[][], sort: string): string[][] {
  const desc = sort.startsWith('-');
  const i = columnIndex(head, desc ? sort.slice(1) : sort, `--sort ${sort}`);
  // stable: equal cells keep the table's order
  return rows
    .map((r, k) => ({ r, k }))
    .sort((a, b) => compareCells(a.r[i] ?? '', b.r[i] ?? '', desc) || a.k - b.k)
    .map((x) => x.r);
}

/** The width cli-table3 draws for content widths `ws`: borders and one space of padding per side. */
export const tableWidth = (ws: readonly number[]): number => 1 + ws.reduce((a, w) => a + w + 3, 0);

/**
 * Which columns to show and how wide: hide the least important until the
 * floors fit, then the largest cap on cut columns that fits.
 */
export function fitWidths(natural: readonly number[], floors: readonly number[], order: readonly number[], keep: ReadonlySet<number>, width: number): { shown: number[]; widths: Map<number, number> } {
  const shown = [...order];
  const floorWidth = (cols: number[]) => tableWidth(cols.map((i) => floors[i]));
  while (floorWidth(shown) > width) {
    let drop = shown.length - 1;
    while (drop >= 0 && keep.has(shown[drop])) drop--;
    if (drop < 0) break;
    shown.splice(drop, 1);
  }
  const capped = (cap: number) => shown.map((i) => Math.min(natural[i], Math.max(floors[i], cap)));
  let lo = 0;
  let hi = Math.max(0, ...shown.map((i) => natural[i]));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tableWidth(capped(mid)) <= width) lo = mid;
    else hi = mid - 1;
  }
  const ws = capped(lo);
  return { shown, widths: new Map(shown.map((i, k) => [i, ws[k]])) };
}

/** Greedy word wrap to `width` characters (a longer word keeps its own line). */
export function wrapText(text: string, width: number | undefined): string {
  if (width === undefined || !Number.isFinite(width)) return text;
  return text
    .split('\n')
    .map((line) => {
      if (line.length <= width) return line;
      const indent = /^\s*/.exec(line)![0];
      const out: string[] = [];
      let cur = '';
      for (const w of line.trim().split(/ +/)) {
        if (cur && (cur + ' ' + w).length > width) {
          out.push(cur);
          cur = indent + '  ' + w;
        } else cur = cur ? `${cur} ${w}` : indent + w;
      }
      if (cur) out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}

const require = createRequire(import.meta.url);

/** Render a table, fitted (see the top of this file). */
export function fitTable(head: readonly string[], rows: readonly string[][], opts: FitOptions = {}): Fitted {
  let body = rows.map((r) => [...r]);
  if (opts.filter?.length) body = filterRows(head, body, opts.filter);
  if (opts.sort) body = sortRows(head, body, opts.sort);
  const chosen = opts.columns?.length ? pickColumns(head, opts.columns) : head.map((_, i) => i);
  const keep = new Set(opts.columns?.length ? chosen : (opts.keep ?? [0]));
  const width = opts.width;
  let shown = chosen;
  let widths: Map<number, number> | undefined;
  if (width !== undefined && Number.isFinite(width)) {
    const natural = head.map((h, i) => Math.max(visibleLength(h), ...body.map((r) => visibleLength(r[i] ?? ''))));
    const cut = opts.truncatable ?? ((i: number) => !keep.has(i));
    const floors = natural.map((w, i) => (cut(i) ? Math.min(w, MIN_CELL) : w));
    const pri = [...(opts.priority ?? []), ...chosen].filter((i, k, a) => chosen.includes(i) && a.indexOf(i) === k);
    // hide from the end of the importance order, show in table order
    const fit = fitWidths(natural, floors, pri, keep, width);
    shown = chosen.filter((i) => fit.shown.includes(i));
    widths = fit.widths;
  }
  const Table = require('cli-table3') as typeof import('cli-table3');
  const noRules = opts.noRules ? { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } } : {};
  const t = new Table({
    head: shown.map((i) => head[i]),
    ...(opts.align ? { colAligns: shown.map((i) => opts.align![i] ?? 'left') } : {}),
    ...(widths ? { colWidths: shown.map((i) => widths!.get(i)! + 2) } : {}),
    ...noRules,
    style: { ...(opts.color ? (opts.headColor ? { head: [opts.headColor] } : {}) : { head: [], border: [] }), ...(opts.compact ? { compact: true } : {}) },
  });
  for (const r of body) t.push(shown.map((i) => r[i] ?? ''));
  const hidden = chosen.filter((i) => !shown.includes(i)).map((i) => head[i]);
  return { text: t.toString(), hidden };
}

/** The note under a table with hidden columns (wrapped to the width). */
export function hiddenNote(hidden: readonly string[], width: number | undefined): string {
  if (hidden.length === 0) return '';
  return wrapText(`${hidden.length} column${hidden.length === 1 ? '' : 's'} hidden to fit ${width} characters: ${hidden.join(', ')} (--wide shows all, --columns picks)`, width) + '\n';
}
