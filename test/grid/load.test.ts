// Loading: extends merging, grid hash, project root, and where errors point.
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadGrid, planGrid } from '../../src/grid/index.ts';
import { contentHash } from '../../src/util/canonical.ts';
import { errorsOf, FIXTURES, gridOf, labelRows, project } from './helpers.ts';

describe('grid loading', () => {
  it('merges a child over its parent (fixtures good/sub/child.yaml over good/parent.yaml)', () => {
    const g = loadGrid('good/sub/child.yaml', { root: FIXTURES });
    assert.equal(g.file, path.join(FIXTURES, 'good/sub/child.yaml'));
    const { file: _f, hash, ...body } = g;
    assert.equal(hash, contentHash(body));
    assert.deepEqual(body, {
      version: 1,
      name: 'child', // the child's name wins
      description: 'the parent of child.yaml', // inherited
      // the child's base patches the parent's: clip.high replaced, steps unset (back to the default)
      base: { train: { clip: { low: 0.1, high: 0.4 } }, eval: { samples: 8 } },
      axes: {
        // method keeps its place; A removed (~unset), B replaced whole (its updates_per_batch is gone), C added
        method: { kind: 'variants', variants: { B: { train: { entropy_adv: { alpha: 0.1 } } }, C: {} } },
        seed: { kind: 'values', path: 'seed', values: [1, 2] },
        'eval.samples': { kind: 'values', path: 'eval.samples', values: [4, 16] }, // new axes come last
      },
      zip: [],
      exclude: [{ method: 'B', seed: 2 }, { method: 'C', seed: 1 }], // parent's, then the child's
      include: [],
      claims: [
        // by name: both replaced in place
        { name: 'c1', metric: 'final.probe_entropy_last3', expect: { greater: { method: 'C' }, than: { method: 'B' } } },
        { name: 'c2', metric: 'final.probe_entropy_last3', expect: { within: [0, 2], of: { method: 'C' } } },
      ],
      table: { rows: 'method', cell: 'avg@k' }, // inherited whole
    });
    const plan = planGrid('good/sub/child.yaml', { root: FIXTURES });
    assert.deepEqual(labelRows(plan), [['B', '1', '4'], ['B', '1', '16'], ['C', '2', '4'], ['C', '2', '16']]);
    assert.equal(plan.jobs[0].config.train.steps, 200);
    assert.equal(plan.jobs[0].config.train.updates_per_batch, 1);
  });

  it('replaces a list axis by the child’s, in place, and a map by a list', () => {
    const g = gridOf({
      'p.yaml': 'version: 1\nname: p\naxes:\n  seed: [1, 2]\n  method: {A: {}, B: {}}\n  train.steps: [10]\n',
      'g.yaml': 'version: 1\nextends: p.yaml\naxes:\n  seed: [7]\n  method: ~unset\n  train.steps: {short: {train.steps: 5}}\n',
    });
    assert.equal(g.name, 'p');
    assert.deepEqual(g.axes, {
      seed: { kind: 'values', path: 'seed', values: [7] },
      'train.steps': { kind: 'variants', variants: { short: { train: { steps: 5 } } } },
    });
  });

  it('concatenates zip and include, parent first; a child table replaces the parent’s', () => {
    const g = gridOf({
      'p.yaml': 'version: 1\nname: p\naxes:\n  seed: [1, 2]\n  train.steps: [10, 20]\n  eval.every: [1, 2]\nzip: [[seed, train.steps]]\ninclude: [{labels: {seed: 3, train.steps: 5, eval.every: 1}}]\ntable: {rows: seed, cell: x}\n',
      'g.yaml': 'version: 1\nname: c\nextends: ./p.yaml\ninclude: [{labels: {seed: 4, train.steps: 5, eval.every: 2}}]\ntable: {rows: eval.every}\n',
    });
    assert.deepEqual(g.zip, [['seed', 'train.steps']]);
    assert.deepEqual(g.include, [
      { labels: { seed: '3', 'train.steps': '5', 'eval.every': '1' }, patch: {} },
      { labels: { seed: '4', 'train.steps': '5', 'eval.every': '2' }, patch: {} },
    ]);
    assert.deepEqual(g.table, { rows: 'eval.every' });
  });

  it('resolves extends relative to the extending file and reports a parent’s errors in the parent', () => {
    const root = project({
      'grids/base/common.yaml': 'version: 1\nname: common\nbase:\n  train: {steps: 0}\n',
      'grids/exp/a.yaml': 'version: 1\nname: a\nextends: ../base/common.yaml\n',
    });
    assert.deepEqual(errorsOf(() => loadGrid('grids/exp/a.yaml', { root })), ['grids/base/common.yaml:4:18 base.train.steps: must be >= 1']);
  });

  it('checks a parent’s references against the merged grid', () => {
    const errs = errorsOf(() =>
      gridOf({
        'p.yaml': 'version: 1\nname: p\naxes:\n  method: {A: {}, B: {}}\nexclude: [{method: A}]\n',
        'g.yaml': 'version: 1\nname: c\nextends: p.yaml\naxes:\n  method: {A: ~unset}\n',
      }),
    );
    assert.deepEqual(errs, ['p.yaml:5:20 exclude[0].method: axis "method" has no label "A" (did you mean "B"?)']);
  });

  it('removes a parent’s claim with {~unset: name}; one the parent lacks is an error, with a suggestion', () => {
    const parent =
      'version: 1\nname: p\naxes:\n  method: {A: {}, B: {}}\nclaims:\n' +
      '  - {name: A above B, metric: x, expect: {greater: {method: A}, than: {method: B}}}\n' +
      '  - {name: A in band, metric: x, expect: {within: [0, 1], of: {method: A}}}\n';
    const g = gridOf({ 'p.yaml': parent, 'g.yaml': 'version: 1\nname: c\nextends: p.yaml\nclaims:\n  - ~unset: A above B\n' });
    assert.deepEqual(g.claims.map((c) => c.name), ['A in band']);
    const errs = errorsOf(() =>
      gridOf({ 'p.yaml': parent, 'g.yaml': 'version: 1\nname: c\nextends: p.yaml\nclaims:\n  - ~unset: A abve B\n  - {~unset: A in band, metric: x}\n' }),
    );
    assert.deepEqual(errs, [
      'g.yaml:5:13 claims[0]."~unset": ~unset removes nothing: the parent grid has no claim "A abve B" (did you mean "A above B"?)',
      'g.yaml:6:25 claims[1].metric: unknown key "metric" (allowed: ~unset)',
    ]);
  });

  it('keeps extends, grids and model paths inside the project root, symbolic links included', () => {
    const outside = project({});
    writeFileSync(path.join(outside, 'p.yaml'), 'version: 1\nname: p\n');
    const root = project({
      'g.yaml': 'version: 1\nname: g\nextends: link/p.yaml\nbase: {model: models/../../x}\n',
      'g2.yaml': 'version: 1\nname: g2\nextends: link/p.yaml\nbase: {model: models/../x}\n',
    });
    symlinkSync(outside, path.join(root, 'link'));
    assert.deepEqual(errorsOf(() => loadGrid('g.yaml', { root })), [
      'g.yaml:3:10 extends: extends "link/p.yaml" leaves the project directory (the directory rlgrid runs in) through a symbolic link',
      'g.yaml:4:15 base.model: model "models/../../x" leaves the project directory (the directory rlgrid runs in): file paths are relative to the project root and stay inside it',
    ]);
    // the same files are fine under a root that holds both directories
    const g2 = loadGrid(path.join(root, 'g2.yaml'), { root: tmpdir() });
    assert.deepEqual([g2.name, g2.base], ['g2', { model: 'models/../x' }]);
  });

  it('hashes the merged grid, not its spelling', () => {
    const a = gridOf('version: 1\nname: h\nbase: {train.clip.high: 0.3, seed: 2}\naxes:\n  m: {A: {eval.every: 2}}\n');
    const b = gridOf('name: h\naxes:\n  m:\n    A:\n      eval: {every: 2}\nbase:\n  seed: 2\n  train: {clip: {high: 0.3}}\nversion: 1\n');
    assert.equal(a.hash, b.hash);
    assert.notEqual(a.hash, gridOf('version: 1\nname: h\nbase: {train.clip.high: 0.31, seed: 2}\naxes:\n  m: {A: {eval.every: 2}}\n').hash);
  });

  it('reads a project root other than the current directory', () => {
    const root = project({ 'deep/er/g.yaml': 'version: 1\nname: g\n' });
    assert.equal(planGrid('deep/er/g.yaml', { root }).grid.file, 'deep/er/g.yaml');
    assert.deepEqual(errorsOf(() => planGrid('deep/none.yaml', { root })), ['deep/none.yaml: no such file']);
  });

  it('reports every problem of a file at once, in file order', () => {
    const errs = errorsOf(() =>
      gridOf('version: 1\nname: x\nbase: {train.stepz: 1, eval: {every: zero}}\naxes:\n  method: {A: {train.clip: 3}}\nzip: [[method, nope]]\n'),
    );
    assert.deepEqual(errs, [
      'g.yaml:3:8 base.train.stepz: unknown key "train.stepz" (did you mean "train.steps"?)',
      'g.yaml:3:38 base.eval.every: must be an integer',
      'g.yaml:5:28 axes.method.A.train.clip: must be a map or null',
      'g.yaml:6:16 zip[0][1]: unknown axis "nope"',
    ]);
  });
});
