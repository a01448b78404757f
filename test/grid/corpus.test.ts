// The bad-grid corpus: every file under test/fixtures/grids/bad/ must fail
// with exactly the diagnostics in its sibling .expected file (nothing else,
// nothing less). The good corpus and the project's own grids must plan.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planGrid } from '../../src/grid/index.ts';
import { errorsOf, FIXTURES, REPO } from './helpers.ts';

const BIN = path.join(REPO, 'bin', 'rlgrid.js');

const BAD = path.join(FIXTURES, 'bad');
const badFiles = readdirSync(BAD).filter((f) => f.endsWith('.yaml')).sort();

describe('bad grid corpus', () => {
  it('has at least 25 bad grids, each with its .expected file', () => {
    assert.ok(badFiles.length >= 25, `only ${badFiles.length} bad grids`);
    const expected = readdirSync(BAD).filter((f) => f.endsWith('.expected')).sort();
    assert.deepEqual(expected, badFiles.map((f) => f.replace(/\.yaml$/, '.expected')));
  });

  for (const f of badFiles) {
    it(`bad/${f}`, () => {
      const want = readFileSync(path.join(BAD, f.replace(/\.yaml$/, '.expected')), 'utf8').trimEnd().split('\n');
      assert.deepEqual(errorsOf(() => planGrid(`bad/${f}`, { root: FIXTURES, checkFiles: true })), want);
    });
  }
});

/** The bad grids of issue 15 (limits and names): `rlgrid run` refuses each before any work. */
const LIMIT_AND_NAME_GRIDS = [
  'too-many-jobs', 'too-deep', 'validation-unknown', 'validation-unknown-variant', 'validation-unknown-list-axis',
  'model-missing', 'model-not-a-dir', 'model-not-a-model', 'model-symlink-outside', 'model-in-variant',
  'subset-size-too-big', 'subset-clusters-too-big', 'subset-size-list-axis', 'grid-name-reserved',
];

describe('bad grids through the CLI', function () {
  this.timeout(120_000);
  it('rlgrid run: exit 2 with file:line and no stack trace, nothing written (the fixtures directory as the project)', async () => {
    const runs = mkdtempSync(path.join(tmpdir(), 'rlgrid-corpus-'));
    fs.rmSync(runs, { recursive: true });
    const run = (f: string): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const c = spawn(process.execPath, [BIN, 'run', `bad/${f}.yaml`, '--runs-dir', runs], { cwd: FIXTURES, env: { ...process.env, NO_COLOR: '1' } });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all(LIMIT_AND_NAME_GRIDS.map(run));
    LIMIT_AND_NAME_GRIDS.forEach((f, i) => {
      const r = results[i];
      assert.equal(r.code, 2, `${f}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: bad/${f}\\.yaml:\\d+:\\d+`), f);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${f}: a stack trace`);
    });
    assert.ok(!fs.existsSync(runs), 'the runs directory was created');
  });
});

describe('good grids', () => {
  const good = ['good/small.yaml', 'good/parent.yaml', 'good/sub/child.yaml'];
  for (const f of good)
    it(f, () => {
      assert.ok(planGrid(f, { root: FIXTURES }).jobs.length > 0);
    });

  // every grid of the project, in every folder (ci/, phrase/, world2/ extend others: a claim added to
  // a parent must not break a child that renamed its rows)
  const projectGrids = (readdirSync(path.join(REPO, 'grids'), { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f)).sort();
  it('finds the grids in the subfolders too', () => {
    assert.ok(projectGrids.includes('table2.yaml') && projectGrids.includes(path.join('ci', 'phrase-table2.yaml')) && projectGrids.includes(path.join('world2', 'regime-ci.yaml')));
  });
  for (const f of projectGrids)
    it(`grids/${f}`, () => {
      assert.ok(planGrid(`grids/${f}`, { root: REPO }).jobs.length > 0);
    });
});
