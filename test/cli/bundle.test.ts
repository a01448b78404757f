// bin/bundle.js: the CLI as one esbuild bundle of src/, rebuilt when a source
// changes; the same output as running the sources through tsx.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build, bundledEntry, fresh } from '../../bin/bundle.js';
import { BIN, ROOT } from '../exec/fixtures.ts';

const cli = (args: string[], bundle: boolean) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RLGRID_NO_BUNDLE: bundle ? '0' : '1' } });

describe('CLI bundle (bin/bundle.js)', function () {
  this.timeout(120_000);

  it('builds a bundle that is fresh until a source file changes', async () => {
    const dir = await build();
    assert.equal(fresh()?.dir, dir);
    assert.equal(await bundledEntry(), new URL(`file://${path.join(ROOT, '.build', dir, 'main.mjs')}`).href);
    const inputs = Object.keys(fresh()!.inputs);
    assert.ok(inputs.includes('src/cli/main.ts') && inputs.includes('src/grpo/trainer.ts'), 'the GRPO runner is in the bundle');
    // a newer source (an edit) makes it stale; the next run rebuilds
    const file = path.join(ROOT, 'src/util/errors.ts');
    const st = fs.statSync(file);
    try {
      fs.utimesSync(file, st.atime, new Date(st.mtimeMs + 5000));
      assert.equal(fresh(), null);
      const next = await bundledEntry();
      assert.ok(next && !next.includes(`/${dir}/`), 'rebuilt into a new directory');
      assert.ok(fresh());
    } finally {
      fs.utimesSync(file, st.atime, st.mtime);
    }
  });

  it('prints what the sources print (plan, errors with exit 2)', () => {
    const grid = 'grids/ci/table2.yaml';
    const a = cli(['plan', grid, '--json'], true);
    const b = cli(['plan', grid, '--json'], false);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.equal(JSON.parse(a.stdout).jobs.length, 12);
    const e1 = cli(['plan', 'no-such-grid.yaml'], true);
    const e2 = cli(['plan', 'no-such-grid.yaml'], false);
    assert.equal(e1.status, 2);
    assert.equal(e1.status, e2.status);
    assert.equal(e1.stderr, e2.stderr);
  });
});
