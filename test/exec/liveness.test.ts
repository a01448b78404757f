// The job lock while the REAL trainer runs (a short stale time, 2 s, so that
// the heartbeat beats every second): the heartbeat advances during training,
// a contender that sees the lock as another host's (the lock's host field
// rewritten) does not take a live job over, and a holder whose lock was
// taken over stops writing at once; the run that started it waits for the
// new holder, finds its lock stale, resumes the job and ends byte-identical
// to an uninterrupted run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/runs/manifest.ts';
import { readLockInfo, type LockInfo } from '../../src/runs/lock.ts';
import { readJsonl } from '../../src/runs/files.ts';
import { runCli, startCli, waitCli } from './fixtures.ts';
import { jobDirs, realProject, resultBytes, stepsLogged, type RealProject } from './realjob.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const STALE_MS = 2000; // heartbeat: every 1000 ms
const LONG_STEPS = 1200;

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Replace the lock file atomically (a reader never sees half of it). */
function rewriteLock(file: string, info: LockInfo): void {
  fs.writeFileSync(file + '.new', JSON.stringify(info) + '\n');
  fs.renameSync(file + '.new', file);
}

const metricSteps = (dir: string): number[] => readJsonl<{ step: number }>(path.join(dir, 'metrics.jsonl')).map((r) => r.step);

describe('job lock liveness with the real trainer', function () {
  this.timeout(240_000);
  let p: RealProject;
  // long enough to outlast 3.5 heartbeat periods on a quiet machine (150 tiny steps took under 2 s)
  let long: RealProject;
  before(() => {
    p = realProject({ steps: 150, seeds: [1], checkpointEvery: 10, extraEnv: { RLGRID_LOCK_STALE_MS: String(STALE_MS) } });
    long = realProject({ steps: LONG_STEPS, seeds: [1], name: 'long', checkpointEvery: 100, extraEnv: { RLGRID_LOCK_STALE_MS: String(STALE_MS) } });
  });
  after(() => {
    fs.rmSync(p.root, { recursive: true, force: true });
    fs.rmSync(long.root, { recursive: true, force: true });
  });

  it('the heartbeat advances while a job trains; a contender on "another host" does not take the live job over', async () => {
    const runs = path.join(long.root, 'runs-a');
    const run = startCli(['run', long.grid, '--runs-dir', runs, '--no-check'], long.env, { cwd: long.root });
    const done = waitCli(run);
    await until('training', () => jobDirs(runs).length === 1 && stepsLogged(jobDirs(runs)[0]) >= 3);
    const dir = jobDirs(runs)[0];
    const lock = path.join(dir, 'job.lock');
    // as seen from here, the job now runs on another node: only its heartbeat keeps it alive
    rewriteLock(lock, { ...readLockInfo(lock)!, host: 'other-node' });
    const mtimes = new Set<number>();
    let maxAge = 0;
    let contenders = 0;
    const t0 = Date.now();
    const watch = (async () => {
      while (Date.now() - t0 < 3500) { // 3.5 heartbeat periods
        if (!fs.existsSync(lock)) assert.fail(`the job ended ${Date.now() - t0} ms into the watch: make it longer`);
        const st = fs.statSync(lock);
        mtimes.add(st.mtimeMs);
        maxAge = Math.max(maxAge, Date.now() - st.mtimeMs);
        await sleep(50);
      }
    })();
    while (Date.now() - t0 < 3000) {
      const r = await runCli(['exec', dir], long.env, long.root);
      assert.equal(r.code, 75, r.stdout + r.stderr);
      assert.match(r.stderr, /is being run by pid \d+ on other-node/);
      contenders++;
    }
    await watch;
    const steps = stepsLogged(dir);
    assert.ok(steps < LONG_STEPS, `the job trained through the watch (at step ${steps})`);
    assert.ok(mtimes.size >= 3, `the lock's mtime took ${mtimes.size} values in ${Date.now() - t0} ms`);
    assert.ok(maxAge < STALE_MS, `the lock went ${maxAge} ms without a heartbeat`);
    assert.ok(contenders >= 1);
    const r = await done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = readManifest(dir)!;
    assert.equal(m.status, 'done');
    assert.equal(m.attempts, 1);
    assert.deepEqual(metricSteps(dir), Array.from({ length: LONG_STEPS }, (_, i) => i + 1));
  });

  it('a holder whose lock was taken over stops writing at once; its run waits, then resumes the job to the bytes of an uninterrupted run', async () => {
    const runs = path.join(p.root, 'runs-b');
    const run = startCli(['run', p.grid, '--runs-dir', runs, '--no-check'], p.env, { cwd: p.root });
    const done = waitCli(run);
    await until('training', () => jobDirs(runs).length === 1 && stepsLogged(jobDirs(runs)[0]) >= 15);
    const dir = jobDirs(runs)[0];
    const lock = path.join(dir, 'job.lock');
    const holder = readManifest(dir)!.runner!.pid;
    // another node broke the lock (it saw no heartbeat) and holds it now
    rewriteLock(lock, { ...readLockInfo(lock)!, host: 'other-node', pid: 1, token: 'f'.repeat(16) });
    const at = stepsLogged(dir);
    const t0 = Date.now();
    await until('the former holder to exit', () => {
      try {
        process.kill(holder, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 3, `it took ${seconds} s to stop`);
    // at most the line whose write had begun when the lock changed hands
    assert.ok(stepsLogged(dir) <= at + 1, `${at} -> ${stepsLogged(dir)} lines after the takeover`);
    const m = readManifest(dir)!;
    assert.equal(m.status, 'running', 'the former holder left the manifest to the new one');
    assert.match(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8'), /the job lock was taken over by pid 1 on other-node: stopping now/);

    // nobody beats for "other-node": its lock goes stale, the run takes the job back and finishes it
    const r = await done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readManifest(dir)!.status, 'done');
    assert.deepEqual(metricSteps(dir), Array.from({ length: 150 }, (_, i) => i + 1));
    const ref = path.join(p.root, 'runs-ref'); // the same job, uninterrupted
    const u = await runCli(['run', p.grid, '--runs-dir', ref, '--no-check'], p.env, p.root);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.deepEqual(resultBytes(dir), resultBytes(jobDirs(ref)[0]));
  });
});
