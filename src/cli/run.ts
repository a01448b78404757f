// `rlgrid run GRID`: plan (or load a frozen plan), freeze it under the runs
// directory, run the jobs that are not done as worker processes, summarise.
import type { Command } from 'commander';
import type { Plan, PlannedJob } from '../grid/types.ts';
import type { JobRunResult, LocalExecutor, RunSummary } from '../exec/local.ts';
import type { CodeVersion } from '../runs/manifest.ts';
import type { FreezeResult, Store } from '../runs/store.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED } from '../util/exit-codes.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, maxJobsOption, projectRoot, runsDir, useColor, runsDirOption } from './common.ts';
import { addOverrideOptions, planWithOverrides, type OverrideOpts } from './overrides.ts';
import type { RunProgress } from './progress.ts';
import type { RunCliValues } from './slurm.ts';
import { fmtSeconds, makeTable } from './status.ts';

interface RunOpts extends RunCliValues, OverrideOpts {
  jobs: string;
  failFast?: boolean;
  retries: string;
  dryRun?: boolean;
  maxJobs?: string;
  rerunStale?: boolean;
  runsDir?: string;
  /** false with --no-check: do not judge the grid's claims at the end */
  check: boolean;
  /** print the run's summary (and verdicts) as JSON instead of tables (progress still goes to stderr) */
  json?: boolean;
  /** off a terminal: the running jobs' progress every this many seconds (0: never) */
  progressEvery: string;
}

function positiveInt(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name} ${v}: expected an integer >= ${min}`);
  return n;
}

/** What a run would do with each job (dry run, and the start-up message). */
async function plannedAction(
  store: Store,
  plan: Plan,
  jobs: PlannedJob[],
  code: CodeVersion,
  rerunStale: boolean,
): Promise<{ job: PlannedJob; status: string; action: string }[]> {
  const { loadJobRecords } = await import('../runs/store.ts');
  const { isStale } = await import('../runs/manifest.ts');
  const recs = new Map(loadJobRecords(store, { ...plan, jobs }, { code, metrics: false }).map((r) => [r.id, r]));
  return jobs.map((job) => {
    const r = recs.get(job.id)!;
    let act: string;
    if (r.status === 'done') act = rerunStale && r.manifest && isStale(r.manifest, code) === true ? 'rerun (stale)' : 'skip (done)';
    else if (r.status === 'running') act = 'wait (running elsewhere)';
    else if (r.status === 'pending') act = r.manifest || r.attempts ? 'run' : 'run (new)';
    else act = `resume (${r.status})`;
    return { job, status: r.status + (r.stale ? ', stale' : ''), action: act };
  });
}

async function summaryTable(store: Store, plan: Plan, results: JobRunResult[]): Promise<string> {
  const { jobDir, lastStep } = await import('../runs/store.ts');
  const t = await makeTable(['job', ...plan.axes, 'status', 'step', 'attempts', 'time', 'reason'], {}, [0, ...plan.axes.map((_, i) => i + 1), plan.axes.length + 1]);
  for (const r of [...results].sort((a, b) => a.index - b.index)) {
    const job = plan.jobs.find((j) => j.id === r.id)!;
    let step = '?';
    try {
      step = String(lastStep(jobDir(store, r.id)));
    } catch {
      // reported by status; the summary is best effort
    }
    t.push([
      r.id,
      ...plan.axes.map((a) => r.labels[a] ?? ''),
      r.action === 'not-started' ? `${r.status} (not started)` : r.action === 'skipped' ? `${r.status} (skipped)` : r.status,
      `${step}/${job.config.train.steps}`,
      String(r.attempts),
      r.action === 'skipped' ? '' : fmtSeconds(r.seconds),
      r.status === 'done' ? '' : (r.reason ?? ''),
    ]);
  }
  return t.toString();
}

/** A word for a shell: bare when safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to run after `run GRID ...`: table and check with the same grid and
 * overrides (so they read these jobs), and the HTML report (which reads the
 * grid as declared, hence only when there were no --set/--seeds).
 */
export function nextCommands(grid: string, o: OverrideOpts & { runsDir?: string }): string[] {
  const common = [grid, ...(o.set ?? []).flatMap((v) => ['--set', v]), ...(o.seeds !== undefined ? ['--seeds', o.seeds] : []), ...(o.runsDir ? ['--runs-dir', o.runsDir] : [])];
  const filtered = [...common, ...(o.only ?? []).flatMap((v) => ['--only', v])];
  const cmd = (words: string[]): string => ['rlgrid', ...words].map(shellWord).join(' ');
  const out = [cmd(['table', ...filtered]), cmd(['check', ...filtered])];
  if (!o.set?.length && o.seeds === undefined) out.push(cmd(['report', grid, ...(o.runsDir ? ['--runs-dir', o.runsDir] : [])]));
  return out;
}

/** The run's exit code from its job results: 130 on SIGINT (Ctrl-C), 143 on SIGTERM, 1 if a job failed, else 0. */
export function exitCodeOf(summary: RunSummary): number {
  if (summary.interrupted) return summary.signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
  return summary.results.some((r) => r.status === 'failed') ? EXIT_FAILED : EXIT_OK;
}

/**
 * Called once every job of a local run has ended, with the exit code the run
 * would return; returns the final one. A grid with claims has them judged
 * over all its jobs and printed as `rlgrid check` prints them (unless
 * --no-check or the run was stopped by a signal). A gated claim that does not
 * hold makes the exit code 1, but only when every job of the grid is done:
 * after `--only`, or with jobs still pending, failed or running elsewhere, the
 * verdicts are provisional and printed without gating.
 */
async function afterRun(ctx: { store: Store; plan: Plan; summary: RunSummary; check: boolean; json?: boolean }, exitCode: number): Promise<number> {
  const { store, plan, summary } = ctx;
  const json = ctx.json ? await import('./json.ts') : null;
  const data = json && {
    grid: json.gridRef(plan),
    interrupted: summary.interrupted,
    failed_fast: summary.failedFast,
    jobs: [...summary.results]
      .sort((a, b) => a.index - b.index)
      .map((r) => ({ ...json.jobRef({ ...r, config: plan.jobs.find((j) => j.id === r.id)?.config }), status: r.status, action: r.action, attempts: r.attempts, seconds: r.seconds, reason: r.reason })),
  };
  if (!ctx.check || summary.interrupted || plan.claims.length === 0) {
    if (json && data) json.printData('run', { ...data, claims: null, claims_provisional: null });
    return exitCode;
  }
  const { loadRecords } = await import('../report/load.ts');
  const { checkClaims, failedClaims, renderClaimsTerm } = await import('../report/claims.ts');
  const records = loadRecords(store, plan);
  const results = checkClaims(plan, records);
  if (json && data) {
    const notDone = records.filter((r) => r.status !== 'done').length;
    json.printData('run', { ...data, claims: results, claims_provisional: notDone > 0 });
    return notDone > 0 || failedClaims(results).length === 0 ? exitCode : EXIT_FAILED;
  }
  process.stdout.write(`\nclaims of ${plan.grid.name} (rlgrid check ${plan.grid.name}):\n`);
  process.stdout.write(renderClaimsTerm(results, { color: useColor(), width: (await import('../report/fit.ts')).terminalWidth() }));
  const notDone = records.filter((r) => r.status !== 'done').length;
  if (notDone > 0) {
    process.stdout.write(
      `${notDone} of ${records.length} jobs of ${plan.grid.name} are not done: the verdicts are provisional and do not set the exit code (rlgrid check ${plan.grid.name} judges them)\n`,
    );
    return exitCode;
  }
  return failedClaims(results).length > 0 ? EXIT_FAILED : exitCode;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run a grid: plan it, freeze the plan, run every job that is not done (resuming interrupted ones)')
    .argument('<grid>', GRID_ARG_HELP)
    .option('-j, --jobs <n>', 'worker processes at a time', '1')
    .option('--fail-fast', 'on the first failed job, start no more and interrupt the running ones')
    .option('--retries <k>', 're-run a failed job up to k more times (it resumes from its checkpoint)', '0')
    .option('--rerun-stale', 're-run done jobs whose code changed (old results move to <job>/previous/<n>/)')
    .option('--dry-run', 'show what would run, change nothing')
    .option('--max-jobs <n>', 'refuse a grid that expands to more jobs (default 100000)')
    .option('--progress-every <s>', "when stderr is not a terminal: print each running job's step, rate, entropy and reward every s seconds (0: never)", '30')
    .option('--json', 'print the summary (each job, the claims) as JSON on stdout; progress stays on stderr')
    .option('--no-check', "do not judge the grid's claims at the end (by default a gated claim that does not hold exits 1)")
    .addOption(runsDirOption())
    .option('--executor <kind>', 'where jobs run: local (worker processes here) or slurm (a Slurm job array; docs/slurm.md)', 'local')
    .option('--partition <p>', 'slurm: partition')
    .option('--time <t>', 'slurm: time limit per job (MIN, H:MIN:SEC, DAYS-H:MIN)')
    .option('--cpus-per-task <c>', 'slurm: CPUs per job')
    .option('--gpus <g>', "slurm: ask Slurm for GPUs per job (N or TYPE:N); a job uses one only with runtime.backend tensorflow and @tensorflow/tfjs-node-gpu installed (docs/running.md)")
    .option('--mem <m>', 'slurm: memory per job (e.g. 8G)')
    .option('--array-parallelism <k>', 'slurm: at most k jobs of the array at a time')
    .option('--sbatch-arg <arg>', 'slurm: one more sbatch option token, e.g. --sbatch-arg=--account=A (repeatable)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v]);
  addOverrideOptions(cmd).action(
      action(async (grid: string, opts: RunOpts) => {
        if (process.env.RLGRID_VALIDATE_MANIFEST === '1') (await import('../runs/schema.ts')).enableManifestValidation();
        const jobsN = positiveInt('--jobs', opts.jobs, 1);
        const retries = positiveInt('--retries', opts.retries, 0);
        const progressEvery = Number(opts.progressEvery);
        if (!(progressEvery >= 0)) throw new UserError(`--progress-every ${opts.progressEvery}: expected a number of seconds >= 0`);
        const plan = await planWithOverrides(grid, opts, maxJobsOption(opts.maxJobs));
        const { checkJobFiles, checkGridName, openStore } = await import('../runs/store.ts');
        const { selectJobs } = await import('../runs/select.ts');
        const { codeVersion } = await import('../exec/code.ts');
        checkGridName(plan.grid.name);
        const selected = selectJobs(plan, opts.only ?? []);
        const store = openStore(runsDir(opts.runsDir));
        checkJobFiles(store, selected); // corrupt files: exit 2 before anything changes
        const code = codeVersion();
        const rerunStale = opts.rerunStale === true;
        const planChanged = (f: FreezeResult): void => {
          if (f.previous) process.stderr.write(`plan of ${plan.grid.name} changed: the earlier plan is kept as ${f.previous}\n`);
        };

        // --executor: where the jobs run (src/cli/launchers.ts; a local run's progress and Ctrl-C are this command's)
        let progress: RunProgress | undefined;
        let executor: LocalExecutor | undefined;
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals): void => {
          if (!executor || !progress) return; // installed once both exist (onRunning)
          signals++;
          if (signals === 1) {
            progress.note(`${sig}: stopping; running jobs checkpoint and stop (press Ctrl-C again to kill them)`);
            executor.interrupt(sig);
          } else {
            progress.note(`${sig} again: killing running jobs (the next run resumes them from their last checkpoint)`);
            executor.kill();
          }
        };
        const { chooseLauncher, queuedReport } = await import('./launchers.ts');
        const launcher = await chooseLauncher(opts, {
          jobs: jobsN,
          failFast: opts.failFast === true,
          retries,
          onEvent: (e) => progress?.on(e),
          onRunning: (x) => {
            executor = x;
            process.on('SIGINT', onSignal);
            process.on('SIGTERM', onSignal);
          },
        });
        if (launcher.queues) {
          // a scheduler: the same frozen plan submitted (docs/slurm.md); a dry run writes the submission only
          const dry = opts.dryRun === true;
          const r = await launcher.submit(store, plan, selected, { dryRun: dry, rerunStale, code, projectRoot: projectRoot(), onFrozen: planChanged });
          process.stdout.write(queuedReport(store, plan, r, dry));
          return EXIT_OK;
        }

        if (opts.dryRun && opts.json) {
          const { gridRef, jobRef, printData } = await import('./json.ts');
          const acts = await plannedAction(store, plan, selected, code, rerunStale);
          printData('run', { grid: gridRef(plan), dry_run: true, jobs: acts.map((a) => ({ ...jobRef(a.job), status: a.status, would: a.action })) });
          return EXIT_OK;
        }
        if (opts.dryRun) {
          const t = await makeTable(['job', ...plan.axes, 'status', 'would']);
          for (const a of await plannedAction(store, plan, selected, code, rerunStale))
            t.push([a.job.id, ...plan.axes.map((x) => a.job.labels[x] ?? ''), a.status, a.action]);
          process.stdout.write(t.toString() + '\n');
          process.stdout.write(`dry run: ${plan.grid.name}, ${selected.length} of ${plan.jobs.length} jobs; nothing written to ${store.root}\n`);
          return EXIT_OK;
        }

        let staleSkipped = 0;
        const Progress = (await import('./progress.ts')).RunProgress;
        const { jobDir } = await import('../runs/store.ts');
        const onFrozen = async (f: FreezeResult): Promise<void> => {
          planChanged(f);
          staleSkipped = rerunStale ? 0 : (await plannedAction(store, plan, selected, code, false)).filter((a) => a.status.endsWith('stale')).length;
          progress = new Progress(selected, { concurrency: jobsN, dirOf: (id) => jobDir(store, id), every: progressEvery });
          await progress.start();
          progress.note(`run ${plan.grid.name}: ${selected.length} job${selected.length === 1 ? '' : 's'}, ${jobsN} at a time, runs dir ${store.root}`);
        };
        let summary: RunSummary;
        try {
          summary = await launcher.submit(store, plan, selected, {
            rerunStale,
            code,
            projectRoot: projectRoot(),
            onFrozen,
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          // once stopping, a repeated Ctrl-C between the jobs' end and the exit has nothing left to
          // kill: absorb it, so the run still exits 130/143 instead of dying of the default handler
          if (signals > 0) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => undefined);
          progress?.stop();
        }
        if (opts.json) return afterRun({ store, plan, summary, check: opts.check !== false, json: true }, exitCodeOf(summary));
        process.stdout.write((await summaryTable(store, plan, summary.results)) + '\n');
        const by = (s: string): number => summary.results.filter((r) => r.status === s).length;
        const tail = [
          `${by('done')} done`,
          by('failed') && `${by('failed')} failed`,
          by('interrupted') && `${by('interrupted')} interrupted`,
          by('pending') && `${by('pending')} not started`,
        ].filter(Boolean);
        process.stdout.write(`${plan.grid.name}: ${tail.join(', ')}${summary.interrupted ? ' (stopped by signal; run again to resume)' : ''}${summary.failedFast ? ' (stopped by --fail-fast)' : ''}\n`);
        if (staleSkipped) process.stdout.write(`${staleSkipped} done jobs are stale (code changed since they ran): rlgrid run --rerun-stale re-runs them\n`);
        process.stdout.write(`wall time ${fmtSeconds(progress!.wallSeconds())}\n` + nextCommands(grid, opts).map((c, i) => `${i ? '      ' : 'next: '}${c}\n`).join(''));
        return afterRun({ store, plan, summary, check: opts.check !== false }, exitCodeOf(summary));
      }),
    );
}
