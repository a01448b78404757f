// `rlgrid validate GRID...`: load every grid file (extends included), expand
// it and check every job; print OK with the job count, or every problem
// (`file:line:col path: message`) and exit 2. Writes nothing.
import type { Command } from 'commander';
import { UserError, type Diagnostic } from '../util/errors.ts';
import { EXIT_BAD_INPUT } from '../util/exit-codes.ts';
import type { Plan } from '../grid/types.ts';
import { action, maxJobsOption, projectRoot } from './common.ts';

/** One line summing a plan up: jobs, label sets sharing a job, axis sizes. */
export function planSummary(plan: Plan): string {
  const n = plan.jobs.length;
  const parts = [`${n} ${n === 1 ? 'job' : 'jobs'}`];
  if (plan.duplicates.length)
    parts.push(`${plan.duplicates.length} more label ${plan.duplicates.length === 1 ? 'set shares' : 'sets share'} a job (identical configs)`);
  if (plan.axes.length) {
    const sizes = plan.axes.map((a) => `${a} ${new Set([...plan.jobs, ...plan.duplicates].map((j) => j.labels[a])).size}`);
    parts.push(`axes: ${sizes.join(', ')}`);
  }
  return parts.join('; ');
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check grid files: schema, rules and every expanded job (exit 2 listing every problem)')
    .argument('<grid...>', 'grid files (YAML)')
    .option('--max-jobs <n>', 'refuse a grid that expands to more jobs (default 100000)')
    .option('--json', 'print each file\'s verdict and every problem as JSON (still exit 2 on a problem)')
    .action(
      action(async (files: string[], opts: { json?: boolean; maxJobs?: string }) => {
        const maxJobs = maxJobsOption(opts.maxJobs);
        const { planGrid } = await import('../grid/index.ts');
        const { gridRef, printData } = await import('./json.ts');
        const problems: Diagnostic[] = [];
        const grids: object[] = [];
        for (const file of files) {
          try {
            const plan = planGrid(file, { root: projectRoot(), maxJobs, checkFiles: true });
            grids.push({ file, ok: true, grid: gridRef(plan), jobs: plan.jobs.length, duplicates: plan.duplicates.length, summary: planSummary(plan) });
            if (!opts.json) process.stdout.write(`OK ${file}: ${planSummary(plan)}\n`);
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            grids.push({ file, ok: false, problems: e.diagnostics.length });
            problems.push(...e.diagnostics);
          }
        }
        if (opts.json) {
          printData('validate', { grids, problems });
          return problems.length ? EXIT_BAD_INPUT : 0;
        }
        if (problems.length) throw new UserError(problems);
      }),
    );
}
