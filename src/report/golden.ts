// `rlgrid table --check GOLDEN`: compare a table with a committed one. The
// golden file is the table's JSON (--format json) or CSV (--format csv); both
// are compared through the CSV form, cell by cell, keyed by row label and
// column header. Without a tolerance cells must read the same; with one,
// numbers may differ by at most that much (absolute, in the column's unit:
// percentage points for scores, nats for entropy).
import { csvGrid, parseCsv } from './format.ts';
import type { TableModel } from './table.ts';

export interface CellDifference {
  row: string;
  column: string;
  golden: string | null;
  actual: string | null;
}

type Grid = { header: string[]; rows: string[][] };

/** Read a golden table: JSON from `--format json`, else CSV. */
export function parseGolden(text: string): Grid {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    const model = JSON.parse(text) as TableModel;
    return csvGrid(model);
  }
  const rows = parseCsv(text).filter((r) => !(r.length === 1 && r[0] === ''));
  return { header: rows[0] ?? [], rows: rows.slice(1) };
}

function toMap(g: Grid): Map<string, Map<string, string>> {
  const m = new Map<string, Map<string, string>>();
  for (const r of g.rows) {
    const cells = new Map<string, string>();
    g.header.forEach((h, i) => {
      if (i > 0) cells.set(h, r[i] ?? '');
    });
    m.set(r[0], cells);
  }
  return m;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

export function compareWithGolden(model: TableModel, goldenText: string, opts: { tolerance?: number } = {}): CellDifference[] {
  const golden = parseGolden(goldenText);
  const actual = csvGrid(model);
  const gm = toMap(golden);
  const am = toMap(actual);
  const out: CellDifference[] = [];
  const columns = [...actual.header.slice(1), ...golden.header.slice(1).filter((h) => !actual.header.includes(h))];
  const rows = [...am.keys(), ...[...gm.keys()].filter((k) => !am.has(k))];
  for (const row of rows) {
    const g = gm.get(row);
    const a = am.get(row);
    if (!g || !a) {
      out.push({ row, column: '(row)', golden: g ? 'present' : null, actual: a ? 'present' : null });
      continue;
    }
    for (const col of columns) {
      const gv = g.get(col) ?? null;
      const av = a.get(col) ?? null;
      if (gv === av) continue;
      if (gv !== null && av !== null && opts.tolerance !== undefined && NUMBER.test(gv) && NUMBER.test(av)) {
        if (Math.abs(Number(gv) - Number(av)) <= opts.tolerance + 1e-12) continue;
      }
      out.push({ row, column: col, golden: gv, actual: av });
    }
  }
  return out;
}

export function formatDifferences(diffs: readonly CellDifference[]): string {
  const show = (v: string | null) => (v === null ? '(absent)' : v === '' ? '(empty)' : v);
  return diffs
    .map((d) => {
      let line = `  ${d.row} | ${d.column}: golden ${show(d.golden)}, now ${show(d.actual)}`;
      if (d.golden !== null && d.actual !== null && NUMBER.test(d.golden) && NUMBER.test(d.actual)) {
        const delta = Number(d.actual) - Number(d.golden);
        line += ` (${delta >= 0 ? '+' : ''}${Number(delta.toPrecision(6))})`;
      }
      return line;
    })
    .join('\n');
}
