// `rlgrid cancel GRID`: scancel the grid's Slurm arrays that still have
// queued or running tasks (docs/slurm.md). Running jobs get SIGTERM from
// Slurm, checkpoint and end `interrupted`; queued ones never start. Nothing
// is marked done: `rlgrid run GRID --executor slurm` resubmits what is left.
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, runsDir, runsDirOption } from './common.ts';
import { gridNameFromArg } from './status.ts';

interface CancelOpts {
  json?: boolean;
  wait: string;
  runsDir?: string;
}

export function register(program: Command): void {
  program
    .command('cancel')
    .description("cancel a grid's queued and running Slurm tasks (jobs end interrupted and resume on the next submit)")
    .argument('<grid>', GRID_ARG_HELP)
    .option('--wait <s>', 'seconds to wait for the cancelled tasks to end (0: do not wait)', '60')
    .option('--json', 'machine-readable output')
    .addOption(runsDirOption())
    .action(
      action(async (grid: string, opts: CancelOpts) => {
        const wait = Number(opts.wait);
        if (!Number.isFinite(wait) || wait < 0) throw new UserError(`--wait ${opts.wait}: expected seconds >= 0`);
        const launcher = await (await import('./launchers.ts')).queueLauncher();
        const { gridPlan, openStore } = await import('../runs/store.ts');
        const store = openStore(runsDir(opts.runsDir));
        const plan = gridPlan(store, await gridNameFromArg(grid, store.root));
        const r = await launcher.cancel(store, plan.grid.name, { waitMs: wait * 1000 });
        if (opts.json) {
          const { gridRef, printData } = await import('./json.ts');
          printData('cancel', { grid: gridRef(plan), runs_dir: store.root, ...r });
          return 0;
        }
        if (r.submissions === 0) {
          process.stdout.write(`${plan.grid.name}: no Slurm submissions (rlgrid run ${plan.grid.name} --executor slurm); nothing to cancel\n`);
          return 0;
        }
        if (r.cancelled.length === 0) {
          process.stdout.write(`${plan.grid.name}: no queued or running Slurm tasks; nothing to cancel\n`);
          return 0;
        }
        for (const c of r.cancelled)
          process.stdout.write(
            `cancelled Slurm job array ${c.array_job_id} (submission ${c.submission}): ${c.tasks.length} tasks: ${c.tasks.map((t) => `${t.job_id} ${t.state}`).join(', ')}\n`,
          );
        if (r.still_live.length)
          process.stdout.write(`still ending after ${wait} s: ${r.still_live.map((t) => `${t.job_id} ${t.state}`).join(', ')}\n`);
        process.stdout.write(`${plan.grid.name}: cancelled; rlgrid status ${plan.grid.name} shows each job, rlgrid run ${plan.grid.name} --executor slurm resubmits what is not done\n`);
        return 0;
      }),
    );
}
