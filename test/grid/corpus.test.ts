// The bad-grid corpus: every file under test/fixtures/grids/bad/ must fail
// with exactly the diagnostics in its sibling .expected file (nothing else,
// nothing less). The good corpus and the project's own grids must plan.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { planGrid } from '../../src/grid/index.ts';
import { errorsOf, FIXTURES, REPO } from './helpers.ts';

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
      assert.deepEqual(errorsOf(() => planGrid(`bad/${f}`, { root: FIXTURES })), want);
    });
  }
});

describe('good grids', () => {
  const good = ['good/small.yaml', 'good/parent.yaml', 'good/sub/child.yaml'];
  for (const f of good)
    it(f, () => {
      assert.ok(planGrid(f, { root: FIXTURES }).jobs.length > 0);
    });

  const projectGrids = readdirSync(path.join(REPO, 'grids')).filter((f) => /\.ya?ml$/.test(f));
  for (const f of projectGrids)
    it(`grids/${f}`, () => {
      assert.ok(planGrid(`grids/${f}`, { root: REPO }).jobs.length > 0);
    });
});
