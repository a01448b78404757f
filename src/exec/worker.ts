// `rlgrid exec RUN_DIR`: run (or resume) one job in this process. The
// executor's side of the JobContext contract: it owns the lock, manifest.json,
// log.txt and the process lifecycle; the runner owns everything else.
//
// State machine of manifest.status (under the job lock):
//   pending | interrupted | failed  --exec-->  running  --> done | interrupted | failed
//   running (runner died: no live lock)  is treated as interrupted and resumed
//   done  --exec-->  done (nothing to do), unless --rerun-stale and the code changed:
//         results move to previous/<n>/ and the job runs again from scratch
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobContext, JobRunner } from '../runs/context.ts';
import { jobLockFile, moveResultsAside, readJobConfig, recoverMoveAside } from '../runs/store.ts';
import { readLockInfo, tryLock } from '../runs/lock.ts';
import { setWriteGuard } from '../runs/files.ts';
import { jobPath } from '../runs/layout.ts';
import {
  isStale,
  newManifest,
  readManifest,
  staticEnvironment,
  writeManifest,
  type Manifest,
} from '../runs/manifest.ts';
import { resourceFault, UserError } from '../util/errors.ts';
import { shortId } from '../util/canonical.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK } from '../util/exit-codes.ts';
import { codeVersion } from './code.ts';

export interface ExecOptions {
  /** started by `rlgrid run`: stdout/stderr already go to log.txt; stop if that parent dies */
  fromRun?: boolean;
  /** re-run a done job whose code is stale (results move to previous/<n>/) */
  rerunStale?: boolean;
  /** the grid on whose behalf the job runs (recorded in the manifest) */
  grid?: { name: string; hash: string };
  projectRoot?: string;
  cacheDir?: string;
  /**
   * The runner to call, chosen by the CLI (src/cli/job-runner.ts). Loaded
   * once the job is taken (lock held, manifest running): loading the trainer
   * takes a while, and a failure to load it is the job's failure.
   */
  loadRunner: () => Promise<JobRunner>;
  /** where status lines go when not fromRun (default stderr) */
  out?: (line: string) => void;
}

/** Where jobs share cached work (embeddings, K-means, base-model evaluations); default <project>/.cache. */
export const CACHE_DIR_ENV = 'RLGRID_CACHE_DIR';

const now = (): string => new Date().toISOString();

/**
 * Run the job in `runDir` to an end and record how it ended. Returns the exit
 * code (EXIT_OK, EXIT_FAILED, EXIT_LOCKED, EXIT_INTERRUPTED of src/util/exit-codes.ts). Throws UserError for an unreadable run directory.
 */
export async function execJob(runDir: string, opts: ExecOptions): Promise<number> {
  const dir = path.resolve(runDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError([{ file: dir, message: 'no such run directory' }]);
  const config = readJobConfig(dir);
  const host = os.hostname();
  const logFile = jobPath(dir, 'log');
  const say = opts.out ?? ((line: string) => process.stderr.write(line + '\n'));
  // Lines for log.txt: under `run` stdout already is log.txt; alone, append to it and echo.
  const log = (msg: string): void => {
    if (opts.fromRun) process.stdout.write(msg + '\n');
    else {
      fs.appendFileSync(logFile, msg + '\n');
      say(msg);
    }
  };

  // Signals are caught from before the lock is taken (until a handler is
  // installed, SIGTERM kills the process outright): a SIGTERM at any moment
  // of start-up ends as "interrupted", not "runner died".
  let stopSignal: string | null = null;
  const startPpid = process.ppid;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopSignal) {
      // Under `run` (or a Slurm task script) a terminal's Ctrl-C reaches this
      // process and its parent, which forwards it: one press, two signals.
      // While the parent lives it decides, and kills outright on a second press.
      if (opts.fromRun && process.ppid === startPpid) return;
      log(`== second ${sig}: exiting now`);
      process.exit(EXIT_INTERRUPTED);
    }
    stopSignal = sig;
    log(`== ${sig}: stopping at the next step boundary`);
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const unhookSignals = (): void => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  };

  const lock = tryLock(jobLockFile(dir), { purpose: 'rlgrid exec' });
  if (!lock.ok) {
    unhookSignals();
    const h = lock.holder;
    say(`job ${path.basename(dir)} is being run by ${h ? `pid ${h.pid} on ${h.host} (since ${h.acquired_at})` : 'another process'}`);
    return EXIT_LOCKED;
  }
  const handle = lock.handle;
  // Another host took the lock over (this process looked dead to it: no
  // heartbeat for the stale time). From then on the job is theirs: stop at
  // once and write nothing more into its directory, the manifest included.
  let lost = false;
  const onLost = (): void => {
    if (lost) return;
    lost = true;
    const now = readLockInfo(handle.file);
    log(`!! the job lock was taken over${now ? ` by pid ${now.pid} on ${now.host}` : ''}: stopping now, writing nothing more`);
    process.exit(EXIT_LOCKED);
  };
  const releaseLock = (): void => {
    setWriteGuard(null);
    handle.release();
  };
  const inDir = (file: string): boolean => !path.relative(dir, path.resolve(file)).startsWith('..');
  handle.startHeartbeat(undefined, onLost);
  setWriteGuard((file) => {
    if (!lost && inDir(file) && !handle.owned()) onLost();
  });
  // Tests hold start-up here (lock taken, manifest not yet "running") to signal into it.
  const hold = Number(process.env.RLGRID_TEST_HOLD_START_MS ?? 0);
  if (hold > 0) await new Promise((r) => setTimeout(r, hold));

  let m: Manifest;
  try {
    recoverMoveAside(dir);
    const base = path.basename(dir);
    m = readManifest(dir) ?? newManifest(/^[0-9a-f]{6,64}$/.test(base) ? base : shortId(config), config.seed);
    if (m.status === 'running') {
      // the previous runner died without a word (kill -9, power loss): its lock was stale
      const last = m.history[m.history.length - 1];
      const why = `runner died (pid ${m.runner?.pid ?? '?'} on ${m.runner?.host ?? '?'})`;
      if (last && last.status === 'running') Object.assign(last, { status: 'interrupted', reason: why });
      m.status = 'interrupted';
      m.reason = why;
    }
    const code = codeVersion();
    if (m.status === 'done') {
      if (!(opts.rerunStale && isStale(m, code) === true)) {
        unhookSignals();
        releaseLock();
        say(`job ${m.id} is already done`);
        return EXIT_OK;
      }
      const n = moveResultsAside(dir);
      m = readManifest(dir) ?? m;
      log(`== code changed since this job finished: earlier results moved to previous/${n}/`);
    }
    const attempt = m.attempts + 1;
    m = {
      ...m,
      ...staticEnvironment(),
      status: 'running',
      reason: null,
      attempts: attempt,
      grid: opts.grid ?? m.grid,
      code,
      environment: {},
      started_at: now(),
      ended_at: null,
      runner: { pid: process.pid, host },
      history: [...m.history, { attempt, status: 'running', reason: null, started_at: now(), ended_at: null, pid: process.pid, host }],
    };
    writeManifest(dir, m);
  } catch (e) {
    unhookSignals();
    releaseLock();
    throw e;
  }

  let finished = false;
  const finish = (status: 'done' | 'failed' | 'interrupted', reason: string | null): void => {
    if (finished) return;
    finished = true;
    const end = now();
    const last = m.history[m.history.length - 1];
    m = {
      ...m,
      status,
      reason,
      ended_at: end,
      history: [...m.history.slice(0, -1), { ...last, status, reason, ended_at: end }],
    };
    try {
      if (handle.owned()) writeManifest(dir, m);
      else log(`!! lost the job lock; manifest not updated (${status}: ${reason ?? ''})`);
    } finally {
      releaseLock();
    }
  };

  // The runner may end the process itself (process.exit, an uncaught error in a callback).
  let uncaught: string | null = null;
  const onUncaught = (e: unknown): void => {
    uncaught = e instanceof Error ? e.message : String(e);
  };
  const onExit = (codeNum: number): void => {
    if (stopSignal) finish('interrupted', `stopped by ${stopSignal}; process exited with code ${codeNum}`);
    else finish('failed', uncaught ? `uncaught error: ${uncaught}` : `process exited with code ${codeNum} during the job`);
  };
  process.on('uncaughtExceptionMonitor', onUncaught);
  process.on('exit', onExit);
  const watch = opts.fromRun
    ? setInterval(() => {
        if (process.ppid !== startPpid && !stopSignal) {
          stopSignal = `the exit of its rlgrid run (pid ${startPpid})`;
          log('== the rlgrid run that started this job is gone: stopping at the next step boundary');
        }
      }, 200)
    : null;
  watch?.unref();

  log(`== attempt ${m.attempts} of job ${m.id} (pid ${process.pid} on ${host}, ${m.started_at})`);
  const ctx: JobContext = {
    runDir: dir,
    config,
    projectRoot: opts.projectRoot ?? process.cwd(),
    cacheDir: opts.cacheDir ?? process.env[CACHE_DIR_ENV] ?? path.join(opts.projectRoot ?? process.cwd(), '.cache'),
    code: m.code,
    log,
    shouldStop: () => {
      if (!handle.owned()) onLost();
      return stopSignal !== null;
    },
    recordEnvironment: (env) => {
      m = { ...m, environment: { ...m.environment, ...env } };
      if (handle.owned()) writeManifest(dir, m);
    },
  };

  let exitCode: number;
  try {
    const runner = await opts.loadRunner();
    const outcome = await runner(ctx);
    if (outcome === 'done') {
      finish('done', null);
      exitCode = EXIT_OK;
    } else {
      finish('interrupted', `stopped by ${stopSignal ?? 'the job'}`);
      exitCode = EXIT_INTERRUPTED;
    }
  } catch (e) {
    // a full or read-only disk: the reason names the path; the stack goes to log.txt only
    const reason = resourceFault(e) ?? (e instanceof Error ? e.message : String(e));
    log(`!! job failed: ${e instanceof Error && !(e instanceof UserError) ? (e.stack ?? reason) : reason}`);
    finish('failed', reason);
    exitCode = EXIT_FAILED;
  } finally {
    if (watch) clearInterval(watch);
    process.off('uncaughtExceptionMonitor', onUncaught);
    process.off('exit', onExit);
    // After a stop, one request may still arrive twice (a process-group SIGTERM
    // and the task script's forwarded copy): keep absorbing it while we exit,
    // or the late copy kills the process (exit 143 instead of 130).
    if (!stopSignal) unhookSignals();
  }
  log(`== ${m.status}${m.reason ? `: ${m.reason}` : ''}`);
  return exitCode;
}
