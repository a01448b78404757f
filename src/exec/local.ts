// The local launcher: runs a plan's jobs as worker processes
// (`node bin/rlgrid.js exec <job dir>`, worker-command.ts), at most `jobs` at
// a time (p-queue).
// Each worker's stdout/stderr is appended to the job's log.txt. The executor
// never runs a job itself: every decision that matters (is it done? who runs
// it?) is re-made by the worker under the job's lock, so that two `rlgrid run`
// processes on the same grid run each job once.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { PlannedJob, Plan } from '../grid/types.ts';
import { inspectLock, tryLock, type LockInfo } from '../runs/lock.ts';
import { jobPath } from '../runs/layout.ts';
import { isStale, readManifest, writeManifest, type CodeVersion, type JobStatus } from '../runs/manifest.ts';
import { freezePlan, jobDir, jobLockFile, jobStatus, type JobRecord, type Store } from '../runs/store.ts';
import { CODE_ENV } from './code.ts';
import type { LaunchRequest, LaunchView, Launcher } from './launcher.ts';
import { workerWords } from './worker-command.ts';
import { EXIT_LOCKED, EXIT_OK } from '../util/exit-codes.ts';

export interface LocalOptions {
  /** worker processes at a time */
  jobs: number;
  /** on the first failure: start nothing more and interrupt the running jobs */
  failFast: boolean;
  /** re-run a failed job up to this many more times (it resumes from its checkpoint) */
  retries: number;
  /** re-run done jobs whose code is stale (results move to previous/<n>/) */
  rerunStale: boolean;
  /** the code version handed to the workers (recorded in their manifests) */
  code: CodeVersion;
  /** working directory of the workers (the project root) */
  cwd?: string;
  /** environment of the workers (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** how often to look at a job another runner holds (ms) */
  pollMs?: number;
}

/** How this run dealt with a job. */
export type JobAction = 'ran' | 'skipped' | 'waited' | 'not-started';

export interface JobRunResult {
  id: string;
  index: number;
  labels: Record<string, string>;
  status: JobStatus;
  action: JobAction;
  reason: string | null;
  attempts: number;
  /** worker processes this run started for the job */
  launches: number;
  /** seconds spent in this run (running or waiting) */
  seconds: number;
}

export type RunEvent =
  | { type: 'start'; job: PlannedJob; launch: number }
  /** a worker process of this job ended (the job's end, a retry or a lost lock race follow) */
  | { type: 'exited'; job: PlannedJob }
  | { type: 'end'; job: PlannedJob; result: JobRunResult }
  | { type: 'wait'; job: PlannedJob; holder: LockInfo | null }
  | { type: 'retry'; job: PlannedJob; reason: string | null; left: number };

export interface RunSummary {
  results: JobRunResult[];
  /** stopped by interrupt() (Ctrl-C) */
  interrupted: boolean;
  /** the signal interrupt() was given (the run's exit code is 128 + its number) */
  signal: NodeJS.Signals | null;
  /** stopped early by --fail-fast */
  failedFast: boolean;
}

interface Running {
  child: ChildProcess;
  stopSignal: NodeJS.Signals | null;
}

/** The last non-empty line of a log, for reasons of workers that died without a word. */
function logTail(file: string): string | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 4096);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const lines = buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      return lines[lines.length - 1] ?? null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

export class LocalExecutor {
  private readonly queue: PQueue;
  private readonly running = new Set<Running>();
  private stopping: 'interrupt' | 'fail-fast' | null = null;
  /** what the running workers are asked to stop with (the signal the run got, else SIGTERM) */
  private stopWith: NodeJS.Signals = 'SIGTERM';
  private signal: NodeJS.Signals | null = null;
  private readonly wake = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly plan: Plan,
    private readonly opts: LocalOptions,
    private readonly onEvent: (e: RunEvent) => void = () => {},
  ) {
    this.queue = new PQueue({ concurrency: Math.max(1, opts.jobs) });
  }

  /**
   * Ctrl-C / SIGTERM: start nothing more, ask the running workers to finish
   * their step, checkpoint and stop. They get the same signal (it becomes
   * their manifest's reason); a worker ignores a repeat while its run lives,
   * so the terminal's own Ctrl-C to the process group does not count twice.
   */
  interrupt(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.stopping) {
      this.signal = signal;
      this.stopWith = signal;
    }
    this.stop('interrupt');
  }

  /** A second Ctrl-C: kill the workers now (the next run resumes from their last checkpoints). */
  kill(): void {
    this.stop('interrupt');
    for (const r of this.running) {
      r.stopSignal = 'SIGKILL';
      r.child.kill('SIGKILL');
    }
  }

  private stop(why: 'interrupt' | 'fail-fast'): void {
    this.stopping ??= why;
    for (const r of this.running) {
      if (r.stopSignal === null) {
        r.stopSignal = this.stopWith;
        r.child.kill(this.stopWith);
      }
    }
    for (const w of this.wake) w();
  }

  /** Run these jobs of the plan (already frozen into the store) to an end. */
  async run(jobs: PlannedJob[]): Promise<RunSummary> {
    const results = await Promise.all(jobs.map((j) => this.driveSafely(j)));
    return { results, interrupted: this.stopping === 'interrupt', signal: this.stopping === 'interrupt' ? this.signal : null, failedFast: this.stopping === 'fail-fast' };
  }

  private result(job: PlannedJob, action: JobAction, launches: number, t0: number | null, statusOverride?: JobStatus, reasonOverride?: string | null): JobRunResult {
    const dir = jobDir(this.store, job.id);
    const m = readManifest(dir);
    return {
      id: job.id,
      index: job.index,
      labels: job.labels,
      status: statusOverride ?? jobStatus(dir, m),
      action,
      reason: reasonOverride !== undefined ? reasonOverride : (m?.reason ?? null),
      attempts: m?.attempts ?? 0,
      launches,
      seconds: t0 === null ? 0 : (performance.now() - t0) / 1000,
    };
  }

  /** Is there nothing to do for this job? (the worker re-checks under the lock) */
  private finished(job: PlannedJob): boolean {
    const m = readManifest(jobDir(this.store, job.id));
    if (m?.status !== 'done') return false;
    return !(this.opts.rerunStale && isStale(m, this.opts.code) === true);
  }

  /** A job whose files broke mid-run (e.g. a manifest edited by hand) fails alone; the others go on. */
  private async driveSafely(job: PlannedJob): Promise<JobRunResult> {
    try {
      return await this.drive(job);
    } catch (e) {
      const r: JobRunResult = {
        id: job.id,
        index: job.index,
        labels: job.labels,
        status: 'failed',
        action: 'ran',
        reason: `rlgrid run: ${e instanceof Error ? e.message : String(e)}`,
        attempts: 0,
        launches: 0,
        seconds: 0,
      };
      this.onEvent({ type: 'end', job, result: r });
      return r;
    }
  }

  private async drive(job: PlannedJob): Promise<JobRunResult> {
    let t0: number | null = null; // first launch or wait of this job
    const dir = jobDir(this.store, job.id);
    let launches = 0;
    let retriesLeft = this.opts.retries;
    let waited = false;
    for (;;) {
      if (this.finished(job)) {
        const r = this.result(job, launches ? 'ran' : waited ? 'waited' : 'skipped', launches, t0);
        this.onEvent({ type: 'end', job, result: r });
        return r;
      }
      if (this.stopping) {
        const r = this.result(job, launches ? 'ran' : 'not-started', launches, t0);
        this.onEvent({ type: 'end', job, result: r });
        return r;
      }
      // Held by another runner (a second `rlgrid run`, or a worker orphaned by a killed run): wait.
      const seen = inspectLock(jobLockFile(dir));
      if (seen.state === 'held') {
        this.onEvent({ type: 'wait', job, holder: seen.info });
        t0 ??= performance.now();
        await this.waitForRelease(dir);
        waited = true;
        const m = readManifest(dir);
        // The holder's attempt failed: report it rather than run a failing job again at once.
        const holderFailed = m?.status === 'failed' && seen.info !== null && m.runner?.pid === seen.info.pid && m.runner.host === seen.info.host;
        if (holderFailed && !this.stopping) {
          const r = this.result(job, 'waited', launches, t0);
          this.onEvent({ type: 'end', job, result: r });
          return r;
        }
        continue;
      }
      const out = await this.queue.add(async () => {
        if (this.stopping || this.finished(job)) return null;
        launches++;
        t0 ??= performance.now();
        this.onEvent({ type: 'start', job, launch: launches });
        let o: Awaited<ReturnType<LocalExecutor['launch']>>;
        try {
          o = await this.launch(job, dir);
        } finally {
          this.onEvent({ type: 'exited', job });
        }
        // Decide fail-fast here, before the queue hands this slot to the next job.
        if (o.code !== EXIT_LOCKED && o.status === 'failed' && retriesLeft === 0 && this.opts.failFast) this.stop('fail-fast');
        return o;
      });
      if (!out) continue;
      if (out.code === EXIT_LOCKED) {
        await sleep(this.opts.pollMs ?? 200); // lost the race for the lock (or it is being broken): wait for the holder
        continue;
      }
      const r = this.result(job, out.noop ? 'skipped' : 'ran', launches, t0, out.status, out.reason);
      if (r.status === 'failed' && retriesLeft > 0 && !this.stopping) {
        retriesLeft--;
        this.onEvent({ type: 'retry', job, reason: r.reason, left: retriesLeft });
        continue;
      }
      this.onEvent({ type: 'end', job, result: r });
      return r;
    }
  }

  private async waitForRelease(dir: string): Promise<void> {
    const poll = this.opts.pollMs ?? 200;
    while (!this.stopping && inspectLock(jobLockFile(dir)).state === 'held') {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake.delete(done);
          resolve();
        };
        this.wake.add(done);
        sleep(poll).then(done, done);
      });
    }
  }

  /** Start one worker and wait for it; reconcile the manifest if it died without recording its end. */
  private async launch(job: PlannedJob, dir: string): Promise<{ code: number | null; status?: JobStatus; reason?: string | null; noop?: boolean }> {
    const logFile = jobPath(dir, 'log');
    const fd = fs.openSync(logFile, 'a');
    const args = workerWords({ dir, grid: this.plan.grid, rerunStale: this.opts.rerunStale });
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, {
        cwd: this.opts.cwd ?? process.cwd(),
        env: { ...(this.opts.env ?? process.env), [CODE_ENV]: JSON.stringify(this.opts.code) },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    const entry: Running = { child, stopSignal: this.stopping ? this.stopWith : null };
    this.running.add(entry);
    if (entry.stopSignal) child.kill(entry.stopSignal);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('error', (e) => {
        fs.appendFileSync(logFile, `!! rlgrid run: cannot start the worker: ${e.message}\n`);
        resolve([null, null]);
      });
      child.once('exit', (c, s) => resolve([c, s]));
    });
    this.running.delete(entry);
    if (code === EXIT_LOCKED) return { code };
    if (code === EXIT_OK) return { code, noop: readManifest(dir)?.runner?.pid !== child.pid };
    // Did the worker record how it ended? If the manifest still names it as the runner, it did not.
    const m = readManifest(dir);
    const pid = child.pid;
    const how = signal ? `killed by signal ${signal}` : code === null ? 'could not start' : `exited with code ${code}`;
    if (m && m.status === 'running' && m.runner?.pid === pid) {
      const status: JobStatus = entry.stopSignal ? 'interrupted' : 'failed';
      const reason = entry.stopSignal ? `stopped by rlgrid run (${entry.stopSignal}); worker ${how}` : `worker ${how}`;
      const lock = tryLock(jobLockFile(dir), { purpose: 'rlgrid run: record a dead worker' });
      if (lock.ok) {
        try {
          const cur = readManifest(dir); // unchanged since? (nobody else took the job in between)
          if (!cur || cur.status !== 'running' || cur.runner?.pid !== pid) return { code, status: cur?.status ?? status, reason: cur?.reason ?? reason };
          const end = new Date().toISOString();
          const last = m.history[m.history.length - 1];
          writeManifest(dir, {
            ...m,
            status,
            reason,
            ended_at: end,
            history: last ? [...m.history.slice(0, -1), { ...last, status, reason, ended_at: end }] : m.history,
          });
        } finally {
          lock.handle.release();
        }
      }
      return { code, status, reason };
    }
    if (m && m.runner?.pid === pid && m.status !== 'pending') return { code, status: m.status, reason: m.reason }; // it did
    // Stopped by us before it took the job: nothing happened to the job.
    if (entry.stopSignal) return { code, status: m ? jobStatus(dir, m) : 'pending', reason: m?.reason ?? null };
    // The worker gave up before it took the job (bad input, ...): its last words are in log.txt.
    const tail = logTail(logFile);
    const reason = `worker ${how}${tail ? `: ${tail}` : ''}`;
    if (m) {
      const lock = tryLock(jobLockFile(dir), { purpose: 'rlgrid run: record a failed worker' });
      if (lock.ok) {
        try {
          writeManifest(dir, { ...m, status: 'failed', reason });
        } finally {
          lock.handle.release();
        }
      }
    }
    return { code, status: 'failed', reason };
  }
}

/** What a local launch is asked to do besides the request: how many at once, retries, what to tell. */
export interface LocalLaunchOptions {
  jobs: number;
  failFast: boolean;
  retries: number;
  /** each job's start, end, wait and retry as it happens */
  onEvent?: (e: RunEvent) => void;
  /** the running launch, once it is made: interrupt() or kill() it (Ctrl-C) */
  onRunning?: (executor: LocalExecutor) => void;
  env?: NodeJS.ProcessEnv;
}

/** The local launcher: submit runs the jobs here to an end; it has no view of its own and nothing queued to cancel. */
export class LocalLauncher implements Launcher<RunSummary, never, null> {
  readonly kind = 'local';
  readonly queues = false;

  constructor(private readonly opts: LocalLaunchOptions) {}

  async submit(store: Store, plan: Plan, jobs: PlannedJob[], req: LaunchRequest): Promise<RunSummary> {
    await req.onFrozen?.(freezePlan(store, plan));
    const o = this.opts;
    const executor = new LocalExecutor(store, plan, { jobs: o.jobs, failFast: o.failFast, retries: o.retries, rerunStale: req.rerunStale, code: req.code, cwd: req.projectRoot, env: o.env }, o.onEvent);
    o.onRunning?.(executor);
    return executor.run(jobs);
  }

  status(_store: Store, records: JobRecord[]): LaunchView<never> {
    return { records, views: new Map<string, never>(), notes: [] };
  }

  viewText(): string {
    return '';
  }

  async cancel(): Promise<null> {
    return null;
  }
}
