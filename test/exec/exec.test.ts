// `rlgrid exec` as a real process on real job directories.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { freezePlan, jobDir, jobLockFile, openStore } from '../../src/runs/store.ts';
import { readManifest, writeManifest } from '../../src/runs/manifest.ts';
import { manifestSchemaErrors } from '../../src/runs/schema.ts';
import { processStartTime, tryLock } from '../../src/runs/lock.ts';
import { executions, reference, resultFiles as files, runCli, seedPlan, startCli, testEnv, tmpDir, VALIDATE, waitCli } from './fixtures.ts';

describe('rlgrid exec', function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(() => {
    root = tmpDir();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('exits 75 while another live process holds the job lock; takes over a dead one and counts the attempt', async () => {
    const store = openStore(path.join(root, 'runs'));
    const plan = seedPlan('g', [1], 4);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    const env = testEnv();
    const held = tryLock(jobLockFile(dir));
    assert.ok(held.ok);
    const r = await runCli(['exec', dir], env);
    held.handle.release();
    assert.equal(r.code, 75);
    assert.match(r.stderr, new RegExp(`being run by pid ${process.pid}`));
    assert.equal(readManifest(dir)!.status, 'pending');

    // a runner killed with -9: manifest says running, its lock names a dead pid
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const m0 = readManifest(dir)!;
    const started = new Date().toISOString();
    writeManifest(dir, {
      ...m0,
      status: 'running',
      attempts: 1,
      runner: { pid: dead, host: 'h' },
      history: [{ attempt: 1, status: 'running', reason: null, started_at: started, ended_at: null, pid: dead, host: 'h' }],
    });
    fs.writeFileSync(jobLockFile(dir), JSON.stringify({ pid: dead, host: (await import('node:os')).hostname(), pid_start: processStartTime(dead), token: 't', acquired_at: started, purpose: '' }));
    const r2 = await runCli(['exec', dir], env);
    assert.equal(r2.code, 0, r2.stderr);
    const m = readManifest(dir)!;
    assert.deepEqual([m.status, m.attempts], ['done', 2]);
    assert.deepEqual(m.history.map((h) => h.status), ['interrupted', 'done']);
    assert.match(m.history[0].reason!, /runner died/);
  });

  it('SIGTERM in start-up, once the job lock is taken and before the manifest says running: interrupted at the first step boundary', async () => {
    const store = openStore(path.join(root, 'runs'));
    const plan = seedPlan('g-start', [3], 60);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    // the worker holds start-up for 1.5 s after taking the lock
    const child = startCli(['exec', dir], testEnv({ ...VALIDATE, RLGRID_TEST_STEP_MS: '25', RLGRID_TEST_HOLD_START_MS: '1500' }));
    // wait for the lock (start-up takes seconds on a loaded machine); a signal before it would kill the process outright
    for (let i = 0; i < 12000 && !fs.existsSync(jobLockFile(dir)); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(fs.existsSync(jobLockFile(dir)), 'the worker took the job lock within 60 s');
    assert.equal(readManifest(dir)?.status, 'pending');
    child.kill('SIGTERM');
    const r = await waitCli(child);
    assert.equal(r.code, 130, r.stderr);
    const m = readManifest(dir)!;
    assert.deepEqual([m.status, m.history.length], ['interrupted', 1]);
    assert.match(m.reason!, /stopped by SIGTERM/);
  });

  it('SIGTERM stops the job at a step boundary (interrupted, exit 130); the next exec resumes to the same bytes and records it; a done job is not run again', async () => {
    const store = openStore(path.join(root, 'runs'));
    const plan = seedPlan('g', [2], 60);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    const log = path.join(root, 'exec.jsonl');
    const env = testEnv({ ...VALIDATE, RLGRID_TEST_STEP_MS: '25', RLGRID_TEST_EXEC_LOG: log });
    const child = startCli(['exec', dir], env);
    // wait until it has made progress
    const metrics = path.join(dir, 'metrics.jsonl');
    for (let i = 0; i < 200 && !(fs.existsSync(metrics) && fs.statSync(metrics).size > 300); i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    const r = await waitCli(child);
    assert.equal(r.code, 130, r.stderr);
    const m = readManifest(dir)!;
    assert.equal(m.status, 'interrupted');
    assert.match(m.reason!, /stopped by SIGTERM/);
    assert.deepEqual(manifestSchemaErrors(m), []);
    const ckpt = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'last', 'state.json'), 'utf8')).step;
    assert.ok(ckpt > 0 && ckpt < 60, `stopped midway (checkpoint ${ckpt})`);

    const env0 = testEnv({ RLGRID_TEST_STEP_MS: '0', RLGRID_TEST_EXEC_LOG: log });
    const r2 = await runCli(['exec', dir], env0);
    assert.equal(r2.code, 0, r2.stderr);
    const done = readManifest(dir)!;
    assert.deepEqual([done.status, done.attempts, done.reason], ['done', 2, null]);
    assert.deepEqual(done.history.map((h) => h.status), ['interrupted', 'done']);
    assert.deepEqual(manifestSchemaErrors(done), []);
    assert.equal(done.environment.backend, 'test');
    assert.equal(done.code.commit, 'a'.repeat(40));
    assert.ok(!fs.existsSync(jobLockFile(dir)), 'lock released');
    assert.match(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8'), /== attempt 1 of job [\s\S]*== interrupted: stopped by SIGTERM\n== attempt 2 of job [\s\S]*test job: done\n== done\n$/);
    assert.deepEqual(executions(log).map((e) => e.from_step), [0, ckpt]);
    assert.deepEqual(files(dir), await reference(plan.jobs[0].config));

    // done: a job id under --runs-dir works too, and nothing runs again
    const again = await runCli(['exec', plan.jobs[0].id, '--runs-dir', store.root], env0);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already done/);
    assert.equal(executions(log).length, 2);
  });

  it('a stop signal repeated until the worker is gone (a process-group SIGTERM and its forwarded copy, however late) never kills it: exit 130, interrupted, each time', async () => {
    // Node closes its signal handlers while it tears down a drained event
    // loop: a copy arriving then killed the worker with 143 (CI, stop 25).
    const store = openStore(path.join(root, 'runs'));
    const plan = seedPlan('g-repeat', [4], 400);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    const metrics = path.join(dir, 'metrics.jsonl');
    const lines = (): number => (fs.existsSync(metrics) ? fs.readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0);
    for (let round = 1; round <= 3; round++) {
      const before = lines();
      const child = startCli(['exec', dir, '--from-run'], testEnv({ RLGRID_TEST_STEP_MS: '5' }));
      for (let i = 0; i < 12000 && lines() < before + 3; i++) await new Promise((r) => setTimeout(r, 5));
      const exited = waitCli(child);
      const spam = setInterval(() => child.kill('SIGTERM'), 1);
      const r = await exited;
      clearInterval(spam);
      assert.deepEqual([r.code, r.signal], [130, null], `round ${round}: ${r.stdout}${r.stderr}`);
      const m = readManifest(dir)!;
      assert.deepEqual([m.status, m.attempts], ['interrupted', round]);
      assert.match(m.reason!, /stopped by SIGTERM/);
    }
  });

  it('a corrupt config.json is exit 2 naming the file, without a stack trace; a missing directory too', async () => {
    const store = openStore(path.join(root, 'runs'));
    const plan = seedPlan('g', [1], 3);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    fs.writeFileSync(path.join(dir, 'config.json'), '{"seed": 1, "tr');
    const r = await runCli(['exec', dir], testEnv());
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`error: ${path.join(dir, 'config.json').replace(/[.]/g, '\\.')}: corrupt JSON`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), '{"seed": 1, "tr');
    const r2 = await runCli(['exec', path.join(root, 'nope')], testEnv());
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /no such run directory/);
  });
});
