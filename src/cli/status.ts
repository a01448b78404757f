// `rlgrid status GRID [--json]`: one row per job of a grid's frozen plan.
// Also the helpers that run/ls share: grid argument resolution and tables.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Plan } from '../grid/types.ts';
import type { JobRecord } from '../runs/store.ts';
import { UserError } from '../util/errors.ts';
import { action, addFitOptions, runsDir, useColor, type FitCliOpts } from './common.ts';
import { planWithOverrides } from './overrides.ts';

/** The grid name `status GRID` means: a name under runs/, or a grid/plan file naming one. */
export async function gridNameFromArg(arg: string): Promise<string> {
  if (/\.(ya?ml|json)$/.test(arg) && fs.existsSync(arg)) return (await planWithOverrides(arg, {})).grid.name;
  return arg;
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
export async function makeTable(head: string[], opts: FitCliOpts = {}, keep: number[] = [0]): Promise<TextTable> {
  const { fitTable, hiddenNote, terminalWidth } = await import('../report/fit.ts');
  const rows: string[][] = [];
  const width = opts.wide ? undefined : terminalWidth();
  return {
    push: (row) => void rows.push(row),
    toString: () => {
      const f = fitTable(head, rows, { width, color: useColor(), columns: opts.columns, sort: opts.sort, filter: opts.filter, keep });
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

/** `slurm`: the Slurm column's text per job id (src/exec/slurm.ts slurmText), for grids submitted to Slurm. */
export async function statusTable(plan: Plan, records: JobRecord[], slurm?: Map<string, string>, fit: FitCliOpts = {}): Promise<string> {
  const withSlurm = slurm !== undefined && slurm.size > 0; // a column only for grids submitted to Slurm
  const t = await makeTable(['job', ...plan.axes, 'status', 'step', 'stale', 'attempts', 'backend', ...(withSlurm ? ['slurm'] : []), 'reason'], fit, [0, ...plan.axes.map((_, i) => i + 1), plan.axes.length + 1]);
  for (const r of records)
    t.push([
      r.id,
      ...plan.axes.map((a) => r.labels[a] ?? ''),
      r.status,
      `${r.step ?? '?'}/${r.steps}`,
      r.status === 'done' ? staleText(r.stale) : '',
      String(r.attempts),
      backendOf(r) ?? '',
      ...(withSlurm ? [slurm.get(r.id) ?? ''] : []),
      r.reason ?? '',
    ]);
  return t.toString();
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description("show the state of a grid's jobs (from its frozen plan under the runs directory)")
    .argument('<grid>', 'grid name (or its grid/plan file)')
    .option('--json', 'machine-readable output')
    .option('--runs-dir <dir>', 'runs directory (default: $RLGRID_RUNS_DIR or ./runs)');
  addFitOptions(cmd).action(
      action(async (grid: string, opts: { json?: boolean; runsDir?: string } & FitCliOpts) => {
        const { countByStatus, gridPlan, loadJobRecords, openStore } = await import('../runs/store.ts');
        const { codeVersion } = await import('../exec/code.ts');
        const { mergeSlurm, slurmText } = await import('../exec/slurm.ts');
        const store = openStore(runsDir(opts.runsDir));
        const plan = gridPlan(store, await gridNameFromArg(grid));
        // Slurm's view (queue state, time limit, cancellation) merged in for jobs submitted with --executor slurm
        const { records, views: slurm, notes: slurmNotes } = mergeSlurm(store, loadJobRecords(store, plan, { code: codeVersion() }));
        const counts = countByStatus(records);
        if (opts.json) {
          const { gridRef, jobRef, printData } = await import('./json.ts');
          printData('status', {
            grid: gridRef(plan),
            runs_dir: store.root,
            counts,
            stale: records.filter((r) => r.stale === true).length,
            ...(slurm.size ? { slurm_notes: slurmNotes } : {}),
            jobs: records.map((r) => ({
              ...jobRef(r),
              status: r.status,
              step: r.step,
              steps: r.steps,
              stale: r.stale,
              attempts: r.attempts,
              reason: r.reason,
              backend: backendOf(r),
              dir: r.dir,
              ...(slurm.size ? { slurm: slurm.get(r.id) ?? null } : {}),
            })),
          });
          return 0;
        }
        const slurmColumn = slurm.size ? new Map(records.map((r) => [r.id, slurmText(slurm.get(r.id))])) : undefined;
        process.stdout.write((await statusTable(plan, records, slurmColumn, opts)) + '\n');
        for (const n of slurmNotes) process.stdout.write(`note: ${n}\n`);
        const parts = Object.entries(counts)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${n} ${s}`);
        const stale = records.filter((r) => r.stale === true).length;
        const { terminalWidth, wrapText } = await import('../report/fit.ts');
        const line = `${plan.grid.name}: ${records.length} jobs: ${parts.join(', ')}` + (stale ? `; ${stale} stale (rlgrid run --rerun-stale)` : '');
        process.stdout.write(wrapText(line, opts.wide ? undefined : terminalWidth()) + '\n');
        return 0;
      }),
    );
}
