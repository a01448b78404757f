// Signals with the REAL trainer (not the test job runner, which awaits every
// step): `rlgrid run` stops within seconds of SIGINT/SIGTERM, the jobs end
// `interrupted` with a checkpoint and the signal as their reason, and the
// resumed results are byte-identical to an uninterrupted run's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/runs/manifest.ts';
import { inspectLock } from '../../src/runs/lock.ts';
import { runCli, startCli, waitCli } from './fixtures.ts';
import { checkpointStep, jobDirs, realProject, resultBytes, stepsLogged, type RealProject } from './realjob.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('signals with the real trainer', function () {
  this.timeout(240_000);
  const STEPS = 100;
  let p: RealProject;
  before(() => {
    p = realProject({ steps: STEPS, seeds: [1, 2], checkpointEvery: 25 });
  });
  after(() => fs.rmSync(p.root, { recursive: true, force: true }));

  const run = (runs: string) => startCli(['run', p.grid, '-j', '2', '--runs-dir', runs, '--no-check'], p.env, { cwd: p.root });

  /** Start a run, signal it once both jobs are past `minStep` and before they end; check the stop. */
  async function interruptAt(runs: string, sig: NodeJS.Signals, minStep: number): Promise<number[]> {
    const child = run(runs);
    const done = waitCli(child);
    await until(`both jobs past step ${minStep}`, () => jobDirs(runs).length === 2 && jobDirs(runs).every((d) => stepsLogged(d) >= minStep));
    const t0 = performance.now();
    child.kill(sig);
    const r = await done;
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, sig === 'SIGINT' ? 130 : 143, r.stdout + r.stderr);
    assert.ok(seconds < 10, `exit ${seconds.toFixed(1)} s after ${sig}`);
    assert.match(r.stdout, /2 interrupted \(stopped by signal; run again to resume\)/);
    const steps: number[] = [];
    for (const d of jobDirs(runs)) {
      const m = readManifest(d)!;
      assert.equal(m.status, 'interrupted', d);
      assert.match(m.reason ?? '', new RegExp(`stopped by ${sig}`));
      // stopped mid-run, at a step boundary, with a checkpoint of exactly the steps logged
      const step = stepsLogged(d);
      assert.ok(step > minStep - 1 && step < STEPS, `stopped at step ${step}`);
      assert.equal(checkpointStep(d), step, `${d}: checkpoints/last is at the last logged step`);
      assert.ok(!fs.existsSync(path.join(d, 'result.json')));
      assert.ok(!fs.existsSync(path.join(d, 'job.lock')), 'lock released');
      steps.push(step);
    }
    return steps;
  }

  it(`SIGINT then SIGTERM mid-run: exit 130 / 143 within 10 s, jobs interrupted at a checkpoint; the rerun equals an uninterrupted run byte for byte`, async () => {
    const runs = path.join(p.root, 'runs-stopped');
    const first = await interruptAt(runs, 'SIGINT', 8);
    const second = await interruptAt(runs, 'SIGTERM', Math.max(...first) + 3);
    assert.ok(second.every((s, i) => s > first[i]), `resumed past the first stop: ${first} -> ${second}`);
    const r = await runCli(['run', p.grid, '-j', '2', '--runs-dir', runs, '--no-check'], p.env, p.root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 done/);

    const ref = path.join(p.root, 'runs-straight');
    const r2 = await runCli(['run', p.grid, '-j', '2', '--runs-dir', ref, '--no-check'], p.env, p.root);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    const a = jobDirs(runs);
    const b = jobDirs(ref);
    assert.deepEqual(a.map((d) => path.basename(d)), b.map((d) => path.basename(d)));
    for (let i = 0; i < a.length; i++) {
      assert.equal(readManifest(a[i])!.attempts, 3);
      assert.deepEqual(resultBytes(a[i]), resultBytes(b[i]), path.basename(a[i]));
    }
  });

  it('a second Ctrl-C kills the workers at once: exit 130 within 3 s, jobs interrupted (resumable from their last checkpoint)', async () => {
    const runs = path.join(p.root, 'runs-twice');
    const child = run(runs);
    const done = waitCli(child);
    await until('both jobs past step 5', () => jobDirs(runs).length === 2 && jobDirs(runs).every((d) => stepsLogged(d) >= 5));
    const t0 = performance.now();
    child.kill('SIGINT');
    await sleep(100);
    child.kill('SIGINT');
    const r = await done;
    const seconds = (performance.now() - t0) / 1000;
    // When both workers stop within the 100 ms between the two signals, the
    // second can land while Node tears down its signal handlers on the way
    // out, and the default action ends the process: killed by SIGINT, which a
    // shell reports as 130 too. Either way the run must have finished its
    // summary first (nothing left unwritten).
    if (r.code === null) {
      assert.equal(r.signal, 'SIGINT', r.stdout + r.stderr);
      assert.match(r.stdout, /real: 0 done, 2 interrupted/, r.stdout + r.stderr);
    } else assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.ok(seconds < 3, `${seconds.toFixed(1)} s`);
    for (const d of jobDirs(runs)) {
      const m = readManifest(d)!;
      assert.equal(m.status, 'interrupted', d);
      assert.ok(stepsLogged(d) < STEPS);
      // a SIGKILLed worker leaves its lock, stale (its pid is gone): the next run takes it over
      assert.notEqual(inspectLock(path.join(d, 'job.lock')).state, 'held');
    }
  });

  it('kill -9 of the runner alone: its workers notice (parent watchdog) and stop at a step boundary with a checkpoint', async () => {
    const runs = path.join(p.root, 'runs-orphaned');
    const child = run(runs);
    const done = waitCli(child);
    await until('both jobs past step 5', () => jobDirs(runs).length === 2 && jobDirs(runs).every((d) => stepsLogged(d) >= 5));
    const workers = jobDirs(runs).map((d) => readManifest(d)!.runner!.pid);
    child.kill('SIGKILL');
    await done;
    const t0 = performance.now();
    await until('the orphaned workers to exit', () =>
      workers.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }),
    10_000);
    assert.ok((performance.now() - t0) / 1000 < 10);
    for (const d of jobDirs(runs)) {
      const m = readManifest(d)!;
      assert.equal(m.status, 'interrupted', d);
      assert.match(m.reason ?? '', /stopped by the exit of its rlgrid run/);
      const step = stepsLogged(d);
      assert.ok(step < STEPS, `${d} trained to its end`);
      assert.equal(checkpointStep(d), step);
    }
  });
});
