// Resource faults: a runs directory that cannot be written, or a disk that
// fills up. Before work: one line naming the path, exit 2. During work: the
// job fails with that reason, its temp files are removed, and the stack
// trace goes to log.txt only. Honest about what is simulated: a file where
// the runs directory belongs (ENOTDIR) is real; EROFS and ENOSPC are
// injected at the write helper (RLGRID_TEST_FS_FAULT, src/runs/files.ts),
// since root ignores chmod and no full disk is at hand.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { listFiles, runCli, testEnv, tmpDir } from '../exec/fixtures.ts';
import { readManifest } from '../../src/runs/manifest.ts';

const tmpFiles = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tmp')) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
};

describe('resource faults', function () {
  this.timeout(60_000);
  let root: string;
  let grid: string;
  before(() => {
    root = tmpDir();
    grid = path.join(root, 'g.yaml');
    fs.writeFileSync(grid, 'version: 1\nname: g\nbase: {train: {steps: 4}, eval: {every: 2}}\naxes: {seed: [1, 2]}\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('before work: a file where the runs directory belongs (ENOTDIR), a read-only one (EROFS, injected): one line naming the path, exit 2', async () => {
    const file = path.join(root, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const a = await runCli(['run', grid, '--runs-dir', path.join(file, 'runs')], testEnv());
    assert.equal(a.code, 2, a.stderr);
    assert.equal(a.stderr, `error: cannot create ${path.join(file, 'runs', 'g')}: a file is where a directory belongs (ENOTDIR, mkdir)\n`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');

    const runs = path.join(root, 'runs-ro');
    const b = await runCli(['run', grid, '--runs-dir', runs], testEnv({ RLGRID_TEST_FS_FAULT: 'EROFS:plan.json' }));
    assert.equal(b.code, 2, b.stderr);
    assert.equal(b.stderr, `error: cannot write ${path.join(runs, 'g', 'plan.json')}: read-only file system (EROFS, write)\n`);
    assert.deepEqual(tmpFiles(runs), []);
    assert.deepEqual(listFiles(runs), [], 'no file written');
  });

  it('during work: a full disk (ENOSPC, injected) fails each job with the path as its reason; no temp files; the stack only in log.txt', async () => {
    const runs = path.join(root, 'runs-full');
    const r = await runCli(['run', grid, '--runs-dir', runs], testEnv({ RLGRID_TEST_FS_FAULT: 'ENOSPC:checkpoints' }));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'a stack trace reached the user');
    const jobs = fs.readdirSync(path.join(runs, 'jobs')).map((id) => path.join(runs, 'jobs', id));
    assert.equal(jobs.length, 2);
    for (const d of jobs) {
      const m = readManifest(d)!;
      assert.equal(m.status, 'failed');
      assert.equal(m.reason, `cannot write ${path.join(d, 'checkpoints', 'last', 'state.json')}: no space left on device (ENOSPC, write)`);
      assert.match(fs.readFileSync(path.join(d, 'log.txt'), 'utf8'), /!! job failed: Error: ENOSPC: injected fault[^\n]*\n\s+at /);
    }
    assert.deepEqual(tmpFiles(runs), []);
  });
});
