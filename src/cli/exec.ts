// `rlgrid exec RUN_DIR`: run or resume one job in this process (what `run`
// starts per job, and what a Slurm array task calls).
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { action, projectRoot, runsDir, runsDirOption } from './common.ts';

interface ExecOpts {
  fromRun?: boolean;
  grid?: string;
  gridHash?: string;
  rerunStale?: boolean;
  runsDir?: string;
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('run or resume one job: a job directory, or a job id under the runs directory')
    .argument('<run-dir>', 'job directory (runs/jobs/<id>, runs/<grid>/<id>) or job id')
    .option('--rerun-stale', 'if the job is done but its code changed, move its results to previous/<n>/ and run it again')
    .addOption(runsDirOption('where a job id is looked up'))
    .addOption(new Option('--from-run', 'started by rlgrid run (stdout is log.txt)').hideHelp())
    .addOption(new Option('--grid <name>').hideHelp())
    .addOption(new Option('--grid-hash <hash>').hideHelp())
    .action(
      action(async (runDir: string, opts: ExecOpts) => {
        if (process.env.RLGRID_VALIDATE_MANIFEST === '1') (await import('../runs/schema.ts')).enableManifestValidation();
        const { execJob } = await import('../exec/worker.ts');
        const { chooseJobRunner } = await import('./job-runner.ts');
        let dir = runDir;
        if (!fs.existsSync(dir) && /^[0-9a-f]{6,64}$/.test(runDir)) {
          const { jobDir, openStore } = await import('../runs/store.ts');
          dir = jobDir(openStore(runsDir(opts.runsDir)), runDir);
        }
        const code = await execJob(path.resolve(dir), {
          fromRun: opts.fromRun,
          rerunStale: opts.rerunStale,
          grid: opts.grid && opts.gridHash ? { name: opts.grid, hash: opts.gridHash } : undefined,
          projectRoot: projectRoot(),
          loadRunner: () => chooseJobRunner(),
        });
        // The job is recorded: exit now, not when the event loop drains. A
        // handle the runner left open (a thread pool, a timer) would keep the
        // worker alive; and while Node tears a drained loop down it closes its
        // signal handlers, so a late copy of a stop signal (a process-group
        // SIGTERM and the task script's forwarded one) killed the worker with
        // 143 after it had recorded `interrupted`. process.exit keeps them.
        await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
        process.exit(code);
      }),
    );
}
