// Render a table model as terminal text, Markdown, CSV, LaTeX (booktabs) or
// JSON. Every format shows the same numbers; CSV and JSON keep one number
// per column (the two scores of a benchmark are separate columns there).
import { fitTable, hiddenNote, tableWidth, visibleLength, wrapText, type FitOptions } from './fit.ts';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { Field, JobTally, Stat, TableModel, TableRow } from './table.ts';

export type TableFormat = 'term' | 'md' | 'csv' | 'latex' | 'json';
export const TABLE_FORMATS: readonly TableFormat[] = ['term', 'md', 'csv', 'latex', 'json'];

export const DASH = '—';

/** A number at a fixed number of decimals, without a negative zero. */
export function fixed(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** Text of one field of a cell. `rowDone`: finished jobs in the row (a smaller n is shown). */
export function statText(s: Stat, f: Pick<Field, 'decimals' | 'unit'>, rowDone: number, opts: { pm?: string; centerOnly?: boolean } = {}): string {
  if (s.n === 0 || s.center === null) return DASH;
  const d = f.decimals;
  if (f.unit === 'count') {
    // sizes: the value, or the range when jobs differ
    const lo = Math.min(...s.values);
    const hi = Math.max(...s.values);
    return (lo === hi ? fixed(lo, d) : `${fixed(lo, d)}–${fixed(hi, d)}`) + (s.n < rowDone ? ` (n=${s.n})` : '');
  }
  let t = fixed(s.center, d);
  if (s.std !== null && !opts.centerOnly) t += ` ${opts.pm ?? '±'} ${fixed(s.std, d)}`;
  if (s.lo !== null && s.hi !== null && !opts.centerOnly) t += ` [${fixed(s.lo, d)}, ${fixed(s.hi, d)}]`;
  if (s.n < rowDone) t += ` (n=${s.n})`;
  return t;
}

const NOT_FINISHED: (keyof JobTally)[] = ['corrupt', 'failed', 'interrupted', 'running', 'pending', 'missing'];

/** "failed 1, missing 1": the jobs of a row that give no numbers. */
export function notFinishedText(t: JobTally): string {
  return NOT_FINISHED.filter((k) => t[k] > 0)
    .map((k) => `${k} ${t[k]}`)
    .join(', ');
}

/** The n column: "3", or "2/3 (failed 1)". */
export function nText(t: JobTally): string {
  return t.done === t.total ? String(t.done) : `${t.done}/${t.total} (${notFinishedText(t)})`;
}

function fieldMap(model: TableModel): Map<string, Field> {
  return new Map(model.fields.map((f) => [f.key, f]));
}

/** The displayed cells of a row: label, n, then one text per column. */
export function displayRow(model: TableModel, row: TableRow, opts: { pm?: string; centerOnly?: boolean } = {}): string[] {
  const fm = fieldMap(model);
  const cells = model.columns.map((c) => {
    const parts = c.fields.map((k) => statText(row.cells[k], fm.get(k)!, row.jobs.done, opts));
    return parts.every((p) => p === DASH) ? DASH : parts.join(' / ');
  });
  return [row.label, nText(row.jobs), ...cells];
}

export function displayHeader(model: TableModel): string[] {
  return [model.rowHeader, 'n', ...model.columns.map((c) => c.header)];
}

/** How `rlgrid table` fits the terminal (report/fit.ts): width, and the user's --columns/--sort/--filter. */
export type TermOptions = { color?: boolean } & Pick<FitOptions, 'width' | 'columns' | 'sort' | 'filter'>;

/**
 * The headline columns, most important first: the row label, n, Entropy, the
 * ID and OOD averages; then the rest in table order. Columns are hidden
 * from the end of this order when the table does not fit.
 */
function termPriority(head: readonly string[]): number[] {
  const at = (h: string) => head.indexOf(h);
  return [0, 1, at('Entropy'), at('Average (ID)'), at('Average (OOD)')].filter((i) => i >= 0);
}

/** Column indices with the headline columns first (the HTML report: they stay in view without scrolling). */
export function headlineOrder(head: readonly string[]): number[] {
  const first = termPriority(head);
  return [...first, ...head.map((_, i) => i).filter((i) => !first.includes(i))];
}

export function renderTerm(model: TableModel, opts: TermOptions = {}): string {
  const head = displayHeader(model);
  const full = model.rows.map((r) => displayRow(model, r));
  const width = opts.width;
  // Too wide with mean ± std in every cell: means only (said in a note), then hide columns.
  const natural = (rows: string[][]) => tableWidth(head.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i])))));
  const centerOnly = width !== undefined && Number.isFinite(width) && !opts.columns?.length && natural(full) > width;
  const rows = centerOnly ? model.rows.map((r) => displayRow(model, r, { centerOnly: true })) : full;
  const fitted = fitTable(head, rows, {
    ...opts,
    keep: [0],
    priority: termPriority(head),
    truncatable: () => false, // numbers are never cut: columns are hidden instead
    align: head.map((_, i) => (i === 0 ? 'left' : 'right')),
    headColor: 'cyan',
    compact: true,
  });
  const notes = [...model.notes];
  if (centerOnly) notes.push(`Cells show the mean only to fit ${width} characters (--wide shows ± spread).`);
  return `${wrapText(model.title, width)}\n${fitted.text}\n${wrapText(notes.join('\n'), width)}\n${hiddenNote(fitted.hidden, width)}`;
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');

export function renderMarkdown(model: TableModel): string {
  const head = displayHeader(model);
  const lines = [
    `**${mdEscape(model.title)}**`,
    '',
    `| ${head.map(mdEscape).join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`,
    ...model.rows.map((r) => `| ${displayRow(model, r).map(mdEscape).join(' | ')} |`),
    '',
    ...model.notes.map((n) => `${mdEscape(n)}  `),
  ];
  return lines.join('\n').replace(/ {2}$/, '') + '\n';
}

// ---- CSV: one number per column

/** Header and rows of the CSV form (also what --check compares). */
export function csvGrid(model: TableModel): { header: string[]; rows: string[][] } {
  const header = [model.rowHeader, 'n', 'planned', 'not finished'];
  for (const f of model.fields) {
    header.push(f.header);
    if (model.agg === 'mean') header.push(`${f.header} std`);
    else header.push(`${f.header} lo`, `${f.header} hi`);
    header.push(`${f.header} n`);
  }
  const num = (x: number | null, d: number) => (x === null ? '' : fixed(x, d));
  const rows = model.rows.map((r) => {
    const out = [r.label, String(r.jobs.done), String(r.jobs.total), notFinishedText(r.jobs)];
    for (const f of model.fields) {
      const s = r.cells[f.key];
      out.push(num(s.center, f.decimals));
      if (model.agg === 'mean') out.push(num(s.std, f.decimals));
      else out.push(num(s.lo, f.decimals), num(s.hi, f.decimals));
      out.push(String(s.n));
    }
    return out;
  });
  return { header, rows };
}

/** RFC 4180 CSV lines (csv-stringify): quotes where needed, and around a field with leading or trailing spaces. */
export function csvText(rows: readonly (readonly string[])[]): string {
  return stringifyCsv(rows as string[][], { quoted_match: /^\s|\s$/, record_delimiter: 'unix' });
}

export function csvQuote(s: string): string {
  return csvText([[s]]).replace(/\n$/, '');
}

export function renderCsv(model: TableModel): string {
  const { header, rows } = csvGrid(model);
  return csvText([header, ...rows]);
}

/** Parse RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) with csv-parse; every field a string. */
export function parseCsv(text: string): string[][] {
  return parseCsvSync(text, { relax_column_count: true, skip_empty_lines: false }) as string[][];
}

// ---- LaTeX (booktabs)

export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\textbackslash{}';
      case '~':
        return '\\textasciitilde{}';
      case '^':
        return '\\textasciicircum{}';
      default:
        return `\\${c}`;
    }
  });
}

function latexText(s: string): string {
  return latexEscape(s).replace(/±/g, '$\\pm$').replace(/—/g, '---').replace(/–/g, '--');
}

function latexCell(s: string): string {
  return s === DASH ? '--' : latexText(s);
}

export function renderLatex(model: TableModel): string {
  const head = displayHeader(model);
  const lines = [
    '% requires \\usepackage{booktabs}',
    '\\begin{table}[t]',
    '\\centering',
    `\\caption{${latexText(model.title)}. ${model.notes.map(latexText).join(' ')}}`,
    '\\small',
    `\\begin{tabular}{l${'r'.repeat(head.length - 1)}}`,
    '\\toprule',
    `${head.map(latexCell).join(' & ')} \\\\`,
    '\\midrule',
    ...model.rows.map((r) => `${displayRow(model, r).map(latexCell).join(' & ')} \\\\`),
    '\\bottomrule',
    '\\end{tabular}',
    '\\end{table}',
  ];
  return lines.join('\n') + '\n';
}

// ---- JSON

export function renderJson(model: TableModel): string {
  const out = {
    format: 'rlgrid.table',
    version: 1,
    ...model,
    rows: model.rows.map((r) => ({
      ...r,
      cells: Object.fromEntries(
        model.fields.map((f) => [f.key, { ...r.cells[f.key], text: statText(r.cells[f.key], f, r.jobs.done) }]),
      ),
    })),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

export function renderTable(model: TableModel, format: TableFormat, opts: TermOptions = {}): string {
  switch (format) {
    case 'term':
      return renderTerm(model, opts);
    case 'md':
      return renderMarkdown(model);
    case 'csv':
      return renderCsv(model);
    case 'latex':
      return renderLatex(model);
    case 'json':
      return renderJson(model);
  }
}
