// bin/bundle.js: the CLI as one esbuild bundle of src/ (with tfjs-core in
// place of the @tensorflow/tfjs union package), rebuilt when a source
// changes; the same output as running the sources through tsx, a real GRPO
// job's files byte for byte.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, bundledEntry, fresh, prune } from '../../bin/bundle.js';
import { BIN, ROOT, tmpDir } from '../exec/fixtures.ts';

const cli = (args: string[], bundle: boolean, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RLGRID_NO_BUNDLE: bundle ? '0' : '1', ...env } });

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

  it('a source edited while esbuild reads the sources leaves that build stale, so the next run rebuilds', async () => {
    // The edit's mtime is not older than the build's start: the build may hold
    // either version, so its stat must not make it look fresh (a worker that
    // built during an edit once kept running the edited-away code).
    const file = path.join(ROOT, 'src/util/errors.ts');
    const st = fs.statSync(file);
    try {
      fs.utimesSync(file, st.atime, new Date(Date.now() + 60_000));
      await build();
      assert.equal(fresh(), null);
      fs.utimesSync(file, st.atime, st.mtime);
      assert.equal(fresh(), null, 'still stale once the file is back to its old mtime');
      await build();
      assert.ok(fresh(), 'a build from untouched sources is fresh');
    } finally {
      fs.utimesSync(file, st.atime, st.mtime);
    }
  });

  it('a build in use by a live process is kept however old (a long run imports lazy chunks late); one whose users exited is pruned', async () => {
    const buildDir = (dir: string) => path.join(ROOT, '.build', dir);
    const age = (dir: string) => {
      const old = new Date(Date.now() - 2 * 3600_000);
      for (const p of [buildDir(dir), path.join(buildDir(dir), 'users')]) if (fs.existsSync(p)) fs.utimesSync(p, old, old);
    };
    const inUse = await build();
    assert.equal(await bundledEntry(), new URL(`file://${path.join(buildDir(inUse), 'main.mjs')}`).href);
    assert.ok(fs.existsSync(path.join(buildDir(inUse), 'users', `${process.pid}@${os.hostname()}`)), 'bundledEntry marks the build it runs');
    const left = await build();
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    fs.mkdirSync(path.join(buildDir(left), 'users'));
    fs.writeFileSync(path.join(buildDir(left), 'users', `${exited}@${os.hostname()}`), '');
    const current = await build();
    age(inUse);
    age(left);
    prune(current);
    assert.ok(fs.existsSync(path.join(buildDir(inUse), 'main.mjs')), 'the build this process runs from stays');
    assert.ok(!fs.existsSync(buildDir(left)), 'a build whose only user exited goes');
    assert.ok(fs.existsSync(path.join(buildDir(current), 'main.mjs')));
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

  it('runs a GRPO job (wasm kernels, evaluations) to the same files as the sources, byte for byte', () => {
    const dir = tmpDir('rlgrid-bundle-');
    try {
      const grid = path.join(dir, 'tiny.yaml');
      fs.writeFileSync(
        grid,
        [
          'version: 1',
          'name: tiny',
          'base:',
          '  model: models/base',
          '  train: {steps: 2, prompts_per_batch: 4, group_size: 4, updates_per_batch: 2}',
          '  eval: {every: 1, samples: 2, questions: 4, probe_prompts: 4}',
          '  rollout: {max_new_tokens: 16}',
          '  runtime: {backend: wasm}',
          '',
        ].join('\n'),
      );
      const files = (bundle: boolean) => {
        const runs = path.join(dir, bundle ? 'bundle' : 'sources');
        const r = cli(['run', grid, '--runs-dir', runs], bundle, { RLGRID_CACHE_DIR: path.join(runs, 'cache') });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const jobs = path.join(runs, 'jobs');
        const job = path.join(jobs, fs.readdirSync(jobs)[0]);
        const read = (f: string) => fs.readFileSync(path.join(job, f), 'utf8');
        return {
          metrics: read('metrics.jsonl').replace(/"time\/step_s":[0-9.e-]+/g, ''),
          eval: read('eval.jsonl'),
          result: read('result.json'),
          backend: (JSON.parse(read('manifest.json')) as { environment?: Record<string, unknown> }).environment,
        };
      };
      const a = files(true);
      const b = files(false);
      assert.equal(a.metrics.split('\n').filter(Boolean).length, 2);
      assert.deepEqual(a, b);
      assert.equal(a.backend?.fastKernels, true);
      assert.equal(a.backend?.tfjsVersion, '4.22.0');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
