// Lock files that survive kill -9: a lock is a small JSON file holding the
// owner's pid, host and process start time, created atomically (hard link of
// a complete temp file, so nobody reads a half-written lock). A lock is stale,
// and may be taken over, when
//   - its owner is on this host and that process is gone (or the pid was reused:
//     its start time differs), or
//   - its owner is on another host and its mtime, refreshed by heartbeat(), is
//     older than staleMs (shared filesystems, Slurm).
// Breaking a stale lock is itself guarded by a short-lived `<lock>.break` file,
// so two processes cannot both break and take the same lock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pidAlive } from './manifest.ts';

export interface LockInfo {
  pid: number;
  host: string;
  /** start time of the owner process (Linux /proc clock ticks), to detect pid reuse; null elsewhere */
  pid_start: string | null;
  token: string;
  acquired_at: string;
  /** free text: who holds it and why (e.g. "rlgrid exec") */
  purpose: string;
}

export interface LockOptions {
  /** a lock of another host is stale after this long without heartbeat (ms) */
  staleMs?: number;
  purpose?: string;
}

export const DEFAULT_STALE_MS = Number(process.env.RLGRID_LOCK_STALE_MS ?? 120_000);
/** How often a lock holder refreshes its lock: a quarter of the stale time, at least once a second. */
export const heartbeatMs = (staleMs: number = DEFAULT_STALE_MS): number => Math.max(1000, Math.floor(staleMs / 4));
/** a `.break` file older than this belongs to a process that died while breaking a lock */
const BREAK_STALE_MS = 30_000;

export type LockInspection =
  | { state: 'free' }
  | { state: 'held'; info: LockInfo | null }
  | { state: 'stale'; info: LockInfo | null; why: string };

export class LockHandle {
  private timer: NodeJS.Timeout | null = null;
  constructor(
    readonly file: string,
    readonly info: LockInfo,
  ) {}

  /** Do we still own the lock file? */
  owned(): boolean {
    const cur = readLockInfo(this.file);
    return cur !== null && cur.token === this.info.token;
  }

  /** Refresh the lock's mtime so that other hosts see it alive. */
  touch(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.file, now, now);
    } catch {
      // the lock vanished; owned() reports it
    }
  }

  /**
   * Touch the lock every `ms` (the timer does not keep the process alive).
   * A lock that is no longer ours (taken over by another host that saw no
   * heartbeat) is not touched: the heartbeat stops and `onLost` is called.
   */
  startHeartbeat(ms: number = heartbeatMs(), onLost?: () => void): void {
    this.stopHeartbeat();
    this.timer = setInterval(() => {
      if (this.owned()) this.touch();
      else {
        this.stopHeartbeat();
        onLost?.();
      }
    }, ms);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Remove the lock if it is still ours. */
  release(): void {
    this.stopHeartbeat();
    if (this.owned()) {
      try {
        fs.unlinkSync(this.file);
      } catch {
        // already gone
      }
    }
  }
}

let counter = 0;

/** Start time of a process from /proc (Linux), or null when unavailable. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 of proc(5); rest starts at field 3
  } catch {
    return null;
  }
}

export function readLockInfo(file: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    if (typeof v !== 'object' || v === null || typeof v.pid !== 'number' || typeof v.token !== 'string') return null;
    return v;
  } catch {
    return null;
  }
}

function mtimeAge(file: string): number | null {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** Who holds a lock, and may it be taken over? */
export function inspectLock(file: string, opts: LockOptions = {}): LockInspection {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const age = mtimeAge(file);
  if (age === null) return { state: 'free' };
  const info = readLockInfo(file);
  if (info === null) {
    // unreadable content (lost by the filesystem): judge by age alone
    return age > staleMs ? { state: 'stale', info, why: 'unreadable lock file without heartbeat' } : { state: 'held', info };
  }
  if (info.host === os.hostname()) {
    if (!pidAlive(info.pid)) return { state: 'stale', info, why: `process ${info.pid} is gone` };
    const start = processStartTime(info.pid);
    if (info.pid_start !== null && start !== null && start !== info.pid_start)
      return { state: 'stale', info, why: `process ${info.pid} is gone (pid reused)` };
    return { state: 'held', info };
  }
  return age > staleMs
    ? { state: 'stale', info, why: `no heartbeat from ${info.host} for ${Math.round(age / 1000)} s` }
    : { state: 'held', info };
}

/** Create `file` with `content` only if it does not exist (atomic, complete content). */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${counter++}.tmp`;
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export type LockResult = { ok: true; handle: LockHandle; tookOver: LockInspection | null } | { ok: false; holder: LockInfo | null };

/**
 * Try once to take the lock. Held by a live owner (or being broken by
 * someone else right now): `{ok: false}`. A stale lock is taken over and
 * reported in `tookOver`.
 */
export function tryLock(file: string, opts: LockOptions = {}): LockResult {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    pid_start: processStartTime(process.pid),
    token: randomBytes(8).toString('hex'),
    acquired_at: new Date().toISOString(),
    purpose: opts.purpose ?? '',
  };
  const content = JSON.stringify(info) + '\n';
  let tookOver: LockInspection | null = null;
  for (let round = 0; round < 3; round++) {
    if (createExclusive(file, content)) return { ok: true, handle: new LockHandle(file, info), tookOver };
    const seen = inspectLock(file, opts);
    if (seen.state === 'free') continue; // released in between
    if (seen.state === 'held') return { ok: false, holder: seen.info };
    // stale: break it under the breaker file
    const breaker = `${file}.break`;
    if (!createExclusive(breaker, content)) {
      const age = mtimeAge(breaker);
      if (age !== null && age > BREAK_STALE_MS) fs.rmSync(breaker, { force: true });
      return { ok: false, holder: seen.info };
    }
    try {
      const again = inspectLock(file, opts);
      const sameOwner = again.state === 'stale' && (again.info?.token ?? null) === (seen.info?.token ?? null);
      if (sameOwner) {
        fs.rmSync(file, { force: true });
        tookOver = seen;
      }
    } finally {
      fs.rmSync(breaker, { force: true });
    }
  }
  return { ok: false, holder: readLockInfo(file) };
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Run `fn` under a lock held briefly (plan freezing), waiting up to `waitMs` for it. */
export function withLockSync<T>(file: string, fn: () => T, waitMs = 30_000, opts: LockOptions = {}): T {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = tryLock(file, opts);
    if (r.ok) {
      try {
        return fn();
      } finally {
        r.handle.release();
      }
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for lock ${file} (held by pid ${r.holder?.pid ?? '?'} on ${r.holder?.host ?? '?'})`);
    sleepSync(20);
  }
}
