// Every command that takes a GRID accepts the same forms (src/cli/grid-arg.ts):
// here a grid name that is the project's grids/<name>.yaml (as `run table2`
// always did) for plan, run, status, table and check, the stored grid's own
// name for the reading commands, and a name that is neither (exit 2, named).
// Real processes in a temporary project, the test job runner.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, testEnv, tmpDir } from '../exec/fixtures.ts';

// the file is grids/tiny.yaml, the grid inside is named "small": a name resolves to the file, the file to its grid
const GRID = `version: 1
name: small
base:
  train: {steps: 4, prompts_per_batch: 4, group_size: 4}
  eval: {every: 2, samples: 4}
axes:
  seed: [1, 2]
`;

describe('GRID arguments: one resolver for every command', function () {
  this.timeout(120_000);
  const root = tmpDir('rlgrid-grid-arg-');
  const runs = path.join(root, 'runs');
  const env = testEnv();
  const cli = (...args: string[]) => runCli(args, env, root);
  before(() => {
    fs.mkdirSync(path.join(root, 'grids'));
    fs.mkdirSync(path.join(root, 'models', 'base'), { recursive: true });
    fs.writeFileSync(path.join(root, 'models', 'base', 'checkpoint.json'), '{"format": "rlgrid-checkpoint"}');
    fs.writeFileSync(path.join(root, 'grids', 'tiny.yaml'), GRID);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('plan NAME plans grids/NAME.yaml; a name that is no grid file is exit 2, naming where it looked', async () => {
    const p = await cli('plan', 'tiny');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^small: 2 jobs; axes: seed 2$/m);
    const bad = await cli('plan', 'nosuch');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no such grid file \(nor grids\/nosuch\.yaml\)/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /); // no stack trace
  });

  it('run NAME, then status, table and check NAME read the grid the file names; the stored name works too', async () => {
    const r = await cli('run', 'tiny', '--runs-dir', runs);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^small: 2 done$/m);
    for (const arg of ['tiny', 'small', 'grids/tiny.yaml']) {
      const s = await cli('status', arg, '--runs-dir', runs, '--json');
      assert.equal(s.code, 0, `status ${arg}: ${s.stderr}`);
      const status = JSON.parse(s.stdout) as { grid: { name: string }; counts: { done: number } };
      assert.equal(status.grid.name, 'small', `status ${arg}`);
      assert.equal(status.counts.done, 2, `status ${arg}`);
      const t = await cli('table', arg, '--runs-dir', runs, '--format', 'csv');
      assert.equal(t.code, 0, `table ${arg}: ${t.stderr}`);
      assert.ok(t.stdout.trim().split('\n').length >= 2, `table ${arg}: ${t.stdout}`);
      const c = await cli('check', arg, '--runs-dir', runs, '--json');
      assert.equal(c.code, 0, `check ${arg}: ${c.stderr}`);
      assert.equal((JSON.parse(c.stdout) as { grid: { name: string } }).grid.name, 'small', `check ${arg}`);
    }
    // a name that is neither stored nor a grid file: the runs directory says so
    const s = await cli('status', 'nosuch', '--runs-dir', runs);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /no grid "nosuch"/);
  });
});
