// Tables that fit the terminal (src/report/fit.ts) and the commands that use it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { cellNumber, filterRows, fitTable, fitWidths, sortRows, tableWidth, wrapText } from '../../src/report/fit.ts';
import { renderTerm } from '../../src/report/format.ts';
import type { TableModel } from '../../src/report/table.ts';
import { BIN, ROOT } from '../exec/fixtures.ts';
import { methodsFixture, tmpDir } from './fixture.ts';

const longest = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  if (!('COLUMNS' in env)) delete e.COLUMNS;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: e, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('report/fit: tables that fit the terminal', function () {
  it('widths: borders and padding, cut columns capped, then the least important hidden', () => {
    assert.equal(tableWidth([3, 5]), 1 + 6 + 8);
    // natural 4, 30, 30; floors 4, 10, 10; width 40: all fit at floors (1 + 7 + 13 + 13 = 34), cap 13 -> 1+7+16+16 = 40
    assert.deepEqual(fitWidths([4, 30, 30], [4, 10, 10], [0, 1, 2], new Set([0]), 40), { shown: [0, 1, 2], widths: new Map([[0, 4], [1, 13], [2, 13]]) });
    // width 30: floors need 34, so the last in importance goes; one column at cap 22 (1 + 7 + 25 = 33 > 30): 19
    assert.deepEqual(fitWidths([4, 30, 30], [4, 10, 10], [0, 2, 1], new Set([0]), 30), { shown: [0, 2], widths: new Map([[0, 4], [2, 19]]) });
    // a kept column is never hidden, even when nothing else fits
    assert.deepEqual(fitWidths([50], [50], [0], new Set([0]), 10).shown, [0]);
  });

  it('the rendered table is exactly as wide as allowed, cut cells end in "…", hidden columns are named', () => {
    const head = ['name', 'a', 'b'];
    const rows = [['x', 'a'.repeat(40), 'b'.repeat(40)]];
    const f = fitTable(head, rows, { width: 40 });
    assert.equal(longest(f.text), 40);
    assert.match(f.text, /│ a{12}… │/);
    assert.deepEqual(f.hidden, []);
    const g = fitTable(head, rows, { width: 25, priority: [0, 2] });
    assert.deepEqual(g.hidden, ['a']);
    assert.ok(longest(g.text) <= 25);
    assert.equal(fitTable(head, rows).text.includes('a'.repeat(40)), true, 'no width: nothing cut');
  });

  it('--columns, --sort, --filter', () => {
    const head = ['method', 'n', 'Entropy'];
    const rows = [
      ['GRPO', '3', '0.114 ± 0.002'],
      ['Clip-Higher', '3', '0.139 ± 0.004'],
      ['Clip-Free', '2/3 (failed 1)', '—'],
    ];
    assert.deepEqual(sortRows(head, rows, '-entropy').map((r) => r[0]), ['Clip-Higher', 'GRPO', 'Clip-Free']);
    assert.deepEqual(sortRows(head, rows, 'Entropy').map((r) => r[0]), ['GRPO', 'Clip-Higher', 'Clip-Free'], 'numbers first, dashes last');
    assert.deepEqual(filterRows(head, rows, ['method=Clip*']).map((r) => r[0]), ['Clip-Higher', 'Clip-Free']);
    assert.deepEqual(filterRows(head, rows, ['method!=Clip*']).map((r) => r[0]), ['GRPO']);
    assert.deepEqual(filterRows(head, rows, ['Entropy>0.12']).map((r) => r[0]), ['Clip-Higher']);
    assert.deepEqual(filterRows(head, rows, ['n<3']).map((r) => r[0]), ['Clip-Free']);
    assert.throws(() => filterRows(head, rows, ['entropi>1']), /--filter entropi>1: no column "entropi" \(did you mean "Entropy"\?\)/);
    assert.throws(() => filterRows(head, rows, ['n>x']), /> needs a number/);
    const picked = fitTable(head, rows, { columns: ['Entropy,method'] }).text.split('\n')[1];
    assert.match(picked, /^│ Entropy +│ method +│$/);
    assert.throws(() => fitTable(head, rows, { columns: ['entrpy'] }), /--columns entrpy: no such column \(did you mean "Entropy"\?\)/);
    assert.equal(cellNumber('45.31 / 78.12'), 45.31);
    assert.ok(Number.isNaN(cellNumber('—')));
  });

  it('wraps long lines at spaces, indenting the continuation', () => {
    assert.equal(wrapText('aaa bbb ccc ddd', 8), 'aaa bbb\n  ccc\n  ddd');
    assert.equal(wrapText('short', 80), 'short');
  });

  it("ci-table2's table (its golden model) in 100 columns: means only, headline columns kept, the rest named", () => {
    const model = JSON.parse(fs.readFileSync(`${ROOT}/grids/ci/golden/table2.json`, 'utf8')) as TableModel;
    const text = renderTerm(model, { width: 100 });
    assert.ok(longest(text) <= 100, text);
    const header = text.split('\n')[2];
    for (const h of ['method', 'n', 'Entropy', 'Average (ID)', 'Average (OOD)']) assert.ok(header.includes(h), header);
    assert.match(text, /│ GRPO N=1 +│ 3 │ .*29\.32 \/ 66\.67 │ 28\.06 \/ 84\.38 │ 0\.11378 │/);
    assert.match(text, /Cells show the mean only to fit 100 characters/);
    assert.match(text, /columns hidden to fit 100 characters: id-easy, id-val, id-medium, id-hard, id-mixed, ood-count,/);
    // unbounded: every column with its spread
    const wide = renderTerm(model, {});
    assert.match(wide, /0\.11378 ± 0\.00196/);
    assert.ok(!wide.includes('hidden'));
  });

  describe('the CLI with COLUMNS=100', function () {
    this.timeout(60_000);
    let runs: string;
    before(() => {
      runs = tmpDir();
      methodsFixture(runs);
    });
    after(() => fs.rmSync(runs, { recursive: true, force: true }));

    it('rlgrid plan grids/table2.yaml prints no line longer than 100 characters; --wide does', () => {
      const r = cli(['plan', 'grids/table2.yaml'], { COLUMNS: '100' });
      assert.equal(r.code, 0, r.err);
      assert.ok(longest(r.out) <= 100, r.out);
      assert.match(r.out.split('\n')[1], /^│ # +│ id +│ method +│ seed +│/);
      assert.match(r.out, /Pos-Adv-Reweight \(Entropy-guided\)/, 'labels are never cut');
      assert.match(r.out, /columns? hidden to fit 100 characters: .*token_weights/s);
      const wide = cli(['plan', 'grids/table2.yaml', '--wide'], { COLUMNS: '100' });
      assert.ok(longest(wide.out) > 200);
      const picked = cli(['plan', 'grids/table2.yaml', '--columns', 'method,seed,clip', '--filter', 'method=Clip-*', '--sort', '-seed'], { COLUMNS: '100' });
      assert.equal(picked.code, 0, picked.err);
      assert.match(picked.out.split('\n')[2], /^│ Clip-Higher +│ 3 +│ low=0\.2 high=0\.28 dual=3 +│$/);
    });

    it('rlgrid table / status fit too; without a width nothing is hidden', () => {
      for (const args of [['table', 'methods'], ['status', 'methods'], ['check', 'methods']]) {
        const r = cli([...args, '--runs-dir', runs], { COLUMNS: '60' });
        assert.ok(r.code === 0 || r.code === 1, r.err);
        assert.ok(longest(r.out) <= 60, `${args.join(' ')}:\n${r.out}`);
      }
      const t = cli(['table', 'methods', '--runs-dir', runs], { COLUMNS: '60' });
      assert.match(t.out, /4 columns hidden to fit 60 characters: id-val, id-hard,\s+ood-logic, Average \(OOD\)/);
      const plain = cli(['table', 'methods', '--runs-dir', runs]);
      assert.match(plain.out, /│ 37\.00 ± 1\.00 \/ 75\.00 ± 2\.00 │/);
      const md = cli(['table', 'methods', '--runs-dir', runs, '--format', 'md', '--sort', 'n']);
      assert.deepEqual([md.code, md.err], [2, 'error: --columns, --sort and --filter shape the terminal table; --format md has every row and column\n']);
      const sorted = cli(['table', 'methods', '--runs-dir', runs, '--sort', '-Entropy', '--columns', 'method,Entropy']);
      assert.deepEqual(
        sorted.out.split('\n').filter((l) => /^│ [A-Z]/.test(l)).map((l) => l.split('│')[1].trim()),
        ['Clip-Free', 'Clip-Higher', 'GRPO', 'Entropy-Adv'],
      );
    });
  });
});
