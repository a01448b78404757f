// The real CLI (node bin/rlgrid.js): exit codes and exact output of
// `validate` and `plan`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, project, REPO } from './helpers.ts';

const BIN = path.join(REPO, 'bin/rlgrid.js');

function rlgrid(args: string[], cwd = REPO): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rlgrid validate / plan (CLI)', function () {
  this.timeout(60_000);

  it('validate: every problem of a bad grid on stderr, exit 2', () => {
    const r = rlgrid(['validate', 'test/fixtures/grids/bad/wrong-type.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'error: test/fixtures/grids/bad/wrong-type.yaml:5:48 axes.method."Clip-Higher".train.clip.high: must be a number\n' +
        'test/fixtures/grids/bad/wrong-type.yaml:6:27 axes.method.Long.train.steps: must be an integer\n',
    );
  });

  it('validate: OK and the job count for good grids; exit 2 when any file is bad', () => {
    const ok = rlgrid(['validate', 'grids/table2.yaml', 'test/fixtures/grids/good/small.yaml']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      'OK grids/table2.yaml: 57 jobs; axes: method 19, seed 3\n' +
        'OK test/fixtures/grids/good/small.yaml: 4 jobs; axes: method 2, seed 3\n',
    );
    const mixed = rlgrid(['validate', 'test/fixtures/grids/good/small.yaml', 'test/fixtures/grids/bad/zero-jobs.yaml']);
    assert.equal(mixed.code, 2);
    assert.equal(mixed.stdout, 'OK test/fixtures/grids/good/small.yaml: 4 jobs; axes: method 2, seed 3\n');
    assert.equal(mixed.stderr, 'error: test/fixtures/grids/bad/zero-jobs.yaml:8:5 exclude: the grid expands to zero jobs: exclude drops all 2 combinations of the axes\n');
  });

  it('plan: a table of jobs with the config values that differ, and writes nothing', () => {
    const dir = project({ 'models/base/checkpoint.json': '{"format": "rlgrid-checkpoint"}' }); // the planner checks the model directory exists
    copyFileSync(path.join(FIXTURES, 'good/small.yaml'), path.join(dir, 'small.yaml'));
    const r = rlgrid(['plan', 'small.yaml'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '┌───┬──────────────┬─────────────┬──────┬───────┬───────────────────┬───────────┐',
        '│ # │ id           │ method      │ seed │ steps │ updates_per_batch │ clip.high │',
        '│ 0 │ 3d9a94b665fc │ GRPO        │ 1    │ 10    │ 1                 │ 0.2       │',
        '│ 1 │ 6782e3fba874 │ GRPO        │ 2    │ 10    │ 1                 │ 0.2       │',
        '│ 2 │ c9111b422232 │ Clip-Higher │ 1    │ 10    │ 2                 │ 0.28      │',
        '│ 3 │ 1eba0480c97b │ GRPO        │ 3    │ 20    │ 1                 │ 0.2       │',
        '└───┴──────────────┴─────────────┴──────┴───────┴───────────────────┴───────────┘',
        'small: 4 jobs; axes: method 2, seed 3',
        '',
      ].join('\n'),
    );
    assert.deepEqual(readdirSync(dir).sort(), ['models', 'small.yaml']);
  });

  it('plan --json: the Plan, duplicates included', () => {
    // table1 = table2 + table3, whose Full row is table2's GRPO N=1: 3 duplicate label sets
    const r = rlgrid(['plan', '--json', 'grids/table1.yaml']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(plan), ['format', 'version', 'grid', 'axes', 'jobs', 'duplicates', 'claims', 'table']);
    assert.equal(plan.grid.name, 'table1');
    assert.equal(plan.grid.file, 'grids/table1.yaml');
    assert.equal(plan.jobs.length, 87);
    assert.equal(plan.duplicates.length, 3);
    assert.deepEqual(plan.jobs[0].labels, { method: 'GRPO N=1', seed: '1' });
  });

  it('plan: a missing file is bad input (exit 2)', () => {
    const r = rlgrid(['plan', 'no/such/grid.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: no/such/grid.yaml: no such file\n');
  });
});
