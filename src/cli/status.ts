// `rlgrid status GRID [--json]`: one row per job of a grid's frozen plan.
// Also the helpers that run/ls share: grid argument resolution and tables.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Plan } from '../grid/types.ts';
import type { JobRecord, Store } from '../runs/store.ts';
import { UserError } from '../util/errors.ts';
import { action, addFitOptions, projectRoot, runsDir, useColor, type FitCliOpts, runsDirOption } from './common.ts';
import { GRID_ARG_HELP, resolveGridArg } from './grid-arg.ts';
import { planWithOverrides } from './overrides.ts';
import type { JobProgress, ProgressTracker } from '../runs/progress.ts';

/** The stored grid a GRID argument means (grid-arg.ts): its name, or the name its grid or plan file gives. */
export async function gridNameFromArg(arg: string, runsDirPath: string): Promise<string> {
  const g = resolveGridArg(arg, runsDirPath);
  if (g.kind === 'name') return g.name;
  if (!fs.existsSync(g.file)) throw new UserError([{ file: g.file, message: g.kind === 'plan' ? 'no such plan file' : 'no such grid file' }]);
  return (await planWithOverrides(g.file, {})).grid.name;
}

export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Rows collected, then drawn fitted to the terminal (report/fit.ts) with the user's --columns/--sort/--filter. */
export interface TextTable {
  push(row: string[]): void;
  toString(): string;
}

/** A table of the CLI: fits the terminal width ($COLUMNS or the tty's) unless --wide. */
export async function makeTable(head: string[], opts: FitCliOpts = {}, keep: number[] = [0], priority?: number[]): Promise<TextTable> {
  const { fitTable, hiddenNote, terminalWidth } = await import('../report/fit.ts');
  const rows: string[][] = [];
  const width = opts.wide ? undefined : terminalWidth();
  return {
    push: (row) => void rows.push(row),
    toString: () => {
      const f = fitTable(head, rows, { width, color: useColor(), columns: opts.columns, sort: opts.sort, filter: opts.filter, keep, priority });
      return f.text + (f.hidden.length ? '\n' + hiddenNote(f.hidden, width).trimEnd() : '');
    },
  };
}

export function fmtSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const staleText = (s: boolean | null): string => (s === true ? 'stale' : s === null ? '?' : '');

/**
 * The backend a job ran on, from its manifest (the job records it when it
 * starts): "wasm simd", "wasm", "cpu", "tensorflow (@tensorflow/tfjs-node-gpu)"; null before it started.
 */
export function backendOf(r: Pick<JobRecord, 'manifest'>): string | null {
  const env = r.manifest?.environment as { backend?: unknown; fastKernels?: unknown; nodePackage?: unknown } | undefined;
  if (typeof env?.backend !== 'string') return null;
  return env.backend + (env.fastKernels === true ? ' simd' : '') + (typeof env.nodePackage === 'string' ? ` (${env.nodePackage})` : '');
}

/** Per job id: its progress as read from its metrics.jsonl tail (src/runs/progress.ts). */
export type ProgressMap = Map<string, JobProgress>;

/** Every job's progress at this moment; `tracker` (kept across polls by --watch) makes rates wall-clock ones. */
export async function readProgress(records: readonly JobRecord[], tracker?: ProgressTracker): Promise<ProgressMap> {
  tracker ??= new (await import('../runs/progress.ts')).ProgressTracker();
  return new Map(records.map((r) => [r.id, tracker.sample(r.id, r.dir, r.steps)]));
}

/**
 * `queued`: the column of the launcher that queued jobs elsewhere (Slurm), its
 * text per job id (src/exec/launcher.ts viewText), for grids submitted there.
 * `progress`: the latest entropy and reward of every job, and for running ones their rate and ETA.
 */
export async function statusTable(plan: Plan, records: JobRecord[], queued?: { name: string; text: Map<string, string> }, fit: FitCliOpts = {}, progress?: ProgressMap): Promise<string> {
  const withQueue = queued !== undefined && queued.text.size > 0; // a column only for grids submitted to a scheduler
  const live = progress ? ['steps/s', 'eta', 'entropy', 'reward'] : [];
  const head = ['job', ...plan.axes, 'status', 'step', 'stale', ...live, 'attempts', 'backend', ...(withQueue ? [queued.name] : []), 'reason'];
  const at = (h: string): number => head.indexOf(h);
  const keep = [0, ...plan.axes.map((_, i) => i + 1), at('status')];
  // hidden last: the live columns; first: attempts, stale, backend
  const priority = [...keep, at('step'), ...live.map(at), at('reason'), ...(withQueue ? [at(queued.name)] : []), at('backend'), at('stale'), at('attempts')];
  const t = await makeTable(head, fit, keep, priority);
  const { fmtNum } = await import('../runs/progress.ts');
  for (const r of records) {
    const p = progress?.get(r.id);
    const running = r.status === 'running';
    t.push([
      r.id,
      ...plan.axes.map((a) => r.labels[a] ?? ''),
      r.status,
      `${p?.step ?? r.step ?? '?'}/${r.steps}`,
      r.status === 'done' ? staleText(r.stale) : '',
      ...(progress ? [running && p ? fmtNum(p.rate) : '', running && p?.eta != null ? fmtSeconds(p.eta) : '', p?.step ? fmtNum(p.entropy) : '', p?.step ? fmtNum(p.reward) : ''] : []),
      String(r.attempts),
      backendOf(r) ?? '',
      ...(withQueue ? [queued.text.get(r.id) ?? ''] : []),
      r.reason ?? '',
    ]);
  }
  return t.toString();
}

interface StatusOpts extends FitCliOpts {
  json?: boolean;
  runsDir?: string;
  watch?: boolean;
  interval: string;
}

/** The plan `status` shows: a grid file's as report/load.ts's gridFilePlan finds it, else the stored grid's. */
async function statusPlan(arg: string, store: Store): Promise<Plan> {
  const g = resolveGridArg(arg, store.root);
  if (g.kind === 'file' && fs.existsSync(g.file)) {
    const [{ gridFilePlan }, { loadGrid }] = await Promise.all([import('../report/load.ts'), import('../grid/load.ts')]);
    return gridFilePlan(store, loadGrid(g.file, { root: projectRoot() }));
  }
  const { gridPlan } = await import('../runs/store.ts');
  return gridPlan(store, await gridNameFromArg(arg, store.root));
}

/** A grid's plan and records, with the scheduler's view (queue state, time limit, cancellation) merged in for jobs submitted with --executor slurm. */
async function loadStatus(grid: string, opts: StatusOpts, tracker?: ProgressTracker) {
  const { countByStatus, loadJobRecords, openStore } = await import('../runs/store.ts');
  const { codeVersion } = await import('../exec/code.ts');
  const launcher = await (await import('./launchers.ts')).queueLauncher();
  const store = openStore(runsDir(opts.runsDir));
  const plan = await statusPlan(grid, store);
  const { records, views, notes } = launcher.status(store, loadJobRecords(store, plan, { code: codeVersion() }));
  return { launcher, store, plan, records, views, notes, counts: countByStatus(records), progress: await readProgress(records, tracker) };
}

/** The text of one status view: the table, Slurm notes, the counts line. */
async function statusView(grid: string, opts: StatusOpts, tracker?: ProgressTracker): Promise<{ text: string; live: boolean }> {
  const { launcher, plan, records, views, notes, counts, progress } = await loadStatus(grid, opts, tracker);
  const column = views.size ? { name: launcher.kind, text: new Map(records.map((r) => [r.id, launcher.viewText(views.get(r.id))])) } : undefined;
  let text = (await statusTable(plan, records, column, opts, progress)) + '\n';
  for (const n of notes) text += `note: ${n}\n`;
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const stale = records.filter((r) => r.stale === true).length;
  const { terminalWidth, wrapText } = await import('../report/fit.ts');
  const line = `${plan.grid.name}: ${records.length} jobs: ${parts.join(', ')}` + (stale ? `; ${stale} stale (rlgrid run --rerun-stale)` : '');
  text += wrapText(line, opts.wide ? undefined : terminalWidth()) + '\n';
  return { text, live: counts.pending + counts.running > 0 };
}

/**
 * --watch: the view again every `interval` seconds until no job is pending
 * or running, or Ctrl-C (exit 0, as `logs -f`). On a terminal the view is
 * redrawn in place; elsewhere each view is printed after the last.
 */
async function watchStatus(grid: string, opts: StatusOpts): Promise<number> {
  const every = Number(opts.interval);
  if (!(every > 0)) throw new UserError(`--interval ${opts.interval}: expected seconds > 0`);
  const tracker = new (await import('../runs/progress.ts')).ProgressTracker();
  const tty = process.stdout.isTTY === true;
  let stop = false;
  let wake: () => void = () => {};
  const onSignal = (): void => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let height = 0;
  try {
    for (;;) {
      const { text, live } = await statusView(grid, opts, tracker);
      const rows = process.stdout.rows ?? 0;
      // in place: up over the last view and clear below; a view taller than the screen: from the top
      const erase = !tty || height === 0 ? '' : height < rows ? `\x1b[${height}F\x1b[0J` : '\x1b[H\x1b[2J';
      process.stdout.write(erase + (tty || height === 0 ? '' : '\n') + text);
      height = text.split('\n').length - 1;
      if (!live || stop) return 0;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, every * 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (stop) return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description("show the state of a grid's jobs (from its frozen plan under the runs directory)")
    .argument('<grid>', GRID_ARG_HELP)
    .option('--json', 'machine-readable output')
    .option('-w, --watch', 'redraw every --interval seconds until no job is pending or running (Ctrl-C ends it)')
    .option('--interval <s>', 'with --watch: seconds between views', '2')
    .addOption(runsDirOption());
  addFitOptions(cmd).action(
      action(async (grid: string, opts: StatusOpts) => {
        if (opts.watch) {
          if (opts.json) throw new UserError('--watch redraws a table: it takes no --json');
          return watchStatus(grid, opts);
        }
        if (!opts.json) {
          process.stdout.write((await statusView(grid, opts)).text);
          return 0;
        }
        const { launcher, store, plan, records, views, notes, counts, progress } = await loadStatus(grid, opts);
        const { gridRef, jobRef, printData } = await import('./json.ts');
        printData('status', {
          grid: gridRef(plan),
          runs_dir: store.root,
          counts,
          stale: records.filter((r) => r.stale === true).length,
          ...(views.size ? { [`${launcher.kind}_notes`]: notes } : {}),
          jobs: records.map((r) => {
            const p = progress.get(r.id);
            return {
              ...jobRef(r),
              status: r.status,
              step: r.step,
              steps: r.steps,
              stale: r.stale,
              attempts: r.attempts,
              reason: r.reason,
              backend: backendOf(r),
              dir: r.dir,
              steps_per_s: r.status === 'running' ? (p?.rate ?? null) : null,
              entropy: p?.step ? p.entropy : null,
              reward: p?.step ? p.reward : null,
              ...(views.size ? { [launcher.kind]: views.get(r.id) ?? null } : {}),
            };
          }),
        });
        return 0;
      }),
    );
}
