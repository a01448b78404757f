import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { inspectLock, processStartTime, readLockInfo, tryLock, withLockSync, type LockInfo } from '../../src/runs/lock.ts';
import { tmpDir } from '../exec/fixtures.ts';

describe('runs/lock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tmpDir();
    file = path.join(dir, 'job.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fake = (over: Partial<LockInfo>): void => {
    const info: LockInfo = { pid: process.pid, host: os.hostname(), pid_start: processStartTime(process.pid), token: 'other', acquired_at: '', purpose: '', ...over };
    fs.writeFileSync(file, JSON.stringify(info));
  };
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

  it('is exclusive while held by a live process, free after release', () => {
    const a = tryLock(file, { purpose: 'a' });
    assert.ok(a.ok);
    assert.equal(readLockInfo(file)!.pid, process.pid);
    const b = tryLock(file);
    assert.equal(b.ok, false);
    assert.equal(!b.ok && b.holder?.purpose, 'a');
    assert.equal(inspectLock(file).state, 'held');
    a.handle.release();
    assert.equal(inspectLock(file).state, 'free');
    const c = tryLock(file);
    assert.ok(c.ok && c.tookOver === null);
    c.handle.release();
  });

  it('takes over the lock of a dead process on this host, and of a reused pid', () => {
    fake({ pid: deadPid() });
    const r = tryLock(file);
    assert.ok(r.ok);
    assert.match(r.tookOver?.state === 'stale' ? r.tookOver.why : '', /is gone/);
    assert.ok(r.handle.owned());
    r.handle.release();

    if (processStartTime(process.pid) !== null) {
      fake({ pid_start: '1' }); // our pid, but another process's start time
      const s = tryLock(file);
      assert.ok(s.ok);
      assert.match(s.tookOver?.state === 'stale' ? s.tookOver.why : '', /pid reused/);
      s.handle.release();
    }
  });

  it('trusts another host while its heartbeat is fresh, takes over after staleMs', () => {
    fake({ host: 'elsewhere', pid: 1 });
    assert.equal(tryLock(file, { staleMs: 60_000 }).ok, false);
    const past = new Date(Date.now() - 120_000);
    fs.utimesSync(file, past, past);
    assert.equal(inspectLock(file, { staleMs: 60_000 }).state, 'stale');
    const r = tryLock(file, { staleMs: 60_000 });
    assert.ok(r.ok);
    // heartbeat keeps our own lock young
    fs.utimesSync(file, past, past);
    r.handle.touch();
    assert.ok(Date.now() - fs.statSync(file).mtimeMs < 10_000);
    r.handle.release();
  });

  it('an unreadable lock file counts as held until it is old', () => {
    fs.writeFileSync(file, '');
    assert.equal(tryLock(file, { staleMs: 60_000 }).ok, false);
    const past = new Date(Date.now() - 120_000);
    fs.utimesSync(file, past, past);
    const r = tryLock(file, { staleMs: 60_000 });
    assert.ok(r.ok);
    r.handle.release();
  });

  it('release never removes a lock that is no longer ours; a pending breaker blocks a takeover', () => {
    const a = tryLock(file);
    assert.ok(a.ok);
    fake({ token: 'someone-else' });
    assert.equal(a.handle.owned(), false);
    a.handle.release();
    assert.ok(fs.existsSync(file));

    fake({ pid: deadPid() });
    fs.writeFileSync(file + '.break', '{}');
    assert.equal(tryLock(file).ok, false, 'someone else is breaking it');
    fs.rmSync(file + '.break');
    assert.ok(tryLock(file).ok);
  });

  it('withLockSync runs the function under the lock and releases it', () => {
    assert.equal(
      withLockSync(file, () => {
        assert.equal(inspectLock(file).state, 'held');
        return 7;
      }),
      7,
    );
    assert.equal(inspectLock(file).state, 'free');
    fake({ token: 'x' }); // held by a live process (us, another token): times out
    assert.throws(() => withLockSync(file, () => 0, 50), /timed out waiting for lock/);
  });
});
