// `rlgrid ls [--json]`: the grids under the runs directory and their jobs by state.
import type { Command } from 'commander';
import { action, runsDir, runsDirOption } from './common.ts';
import { makeTable } from './status.ts';

export function register(program: Command): void {
  program
    .command('ls')
    .description('list the grids under the runs directory, with job counts by state')
    .option('--json', 'machine-readable output')
    .addOption(runsDirOption())
    .action(
      action(async (opts: { json?: boolean; runsDir?: string }) => {
        const { countByStatus, gridPlan, listGrids, loadJobRecords, openStore } = await import('../runs/store.ts');
        const { JOB_STATUSES } = await import('../runs/manifest.ts');
        const store = openStore(runsDir(opts.runsDir));
        const grids = listGrids(store).map((name) => {
          const plan = gridPlan(store, name);
          const counts = countByStatus(loadJobRecords(store, plan, { metrics: false }));
          return { plan, jobs: plan.jobs.length, counts };
        });
        if (opts.json) {
          const { gridRef, printData } = await import('./json.ts');
          printData('ls', { runs_dir: store.root, grids: grids.map((g) => ({ grid: gridRef(g.plan), jobs: g.jobs, counts: g.counts })) });
          return 0;
        }
        if (grids.length === 0) {
          process.stdout.write(`no grids under ${store.root}\n`);
          return 0;
        }
        const t = await makeTable(['grid', 'jobs', ...JOB_STATUSES, 'corrupt']);
        for (const g of grids) t.push([g.plan.grid.name, String(g.jobs), ...JOB_STATUSES.map((s) => String(g.counts[s])), String(g.counts.corrupt)]);
        process.stdout.write(t.toString() + '\n');
        return 0;
      }),
    );
}
