// The Slurm launcher: a grid's jobs as one job array per submission, on a
// real scheduler (docs/slurm.md).
//
//   runs/<grid>/slurm/submit-<n>.sbatch   the script (script.ts)
//   runs/<grid>/slurm/submit-<n>.json     the submission: Slurm id, options, task i -> job (records.ts)
//   runs/<grid>/slurm/submit-<n>-<i>.log  task i's own lines + Slurm's (time limit, cancel)
//   runs/jobs/<id>/log.txt                the job's output (every attempt, as with `run`)
//   runs/jobs/<id>/manifest.json          `slurm`: the job's latest array task
//
// Each task runs `rlgrid exec <job dir>`: every decision (done? who runs it?
// resume from the checkpoint) is the worker's, under the job's lock, exactly as
// with the local launcher, so local and Slurm runs of a grid mix freely.
// Submitting: submit.ts. Reading state: monitor.ts (squeue, sacct when
// accounting works, else the task's Slurm log). Cancelling: cancel.ts. Every
// command goes through scheduler.ts with an argv array.
import type { Plan, PlannedJob } from '../../grid/types.ts';
import type { JobRecord, Store } from '../../runs/store.ts';
import type { LaunchRequest, LaunchView, Launcher } from '../launcher.ts';
import { cancelGrid, type CancelResult } from './cancel.ts';
import { mergeSlurm, slurmText, type SlurmView } from './monitor.ts';
import type { SlurmOptions } from './script.ts';
import { submitGrid, type SubmitResult } from './submit.ts';

export class SlurmLauncher implements Launcher<SubmitResult, SlurmView, CancelResult> {
  readonly kind = 'slurm';
  readonly queues = true;

  /** `options`: sbatch's (partition, time, ...); needed to submit only */
  constructor(
    private readonly options: SlurmOptions = { sbatchArgs: [] },
    /** the environment sbatch sees (and, by sbatch's default --export=ALL, the tasks) */
    private readonly env?: NodeJS.ProcessEnv,
  ) {}

  async submit(store: Store, plan: Plan, jobs: PlannedJob[], req: LaunchRequest): Promise<SubmitResult> {
    const r = submitGrid(store, plan, jobs, { slurm: this.options, dryRun: req.dryRun === true, rerunStale: req.rerunStale, code: req.code, projectRoot: req.projectRoot, env: this.env });
    await req.onFrozen?.(r.frozen);
    return r;
  }

  status(store: Store, records: JobRecord[]): LaunchView<SlurmView> {
    return mergeSlurm(store, records);
  }

  viewText(view: SlurmView | undefined): string {
    return slurmText(view);
  }

  cancel(store: Store, grid: string, opts: { waitMs?: number }): Promise<CancelResult> {
    return cancelGrid(store, grid, { waitMs: opts.waitMs, env: this.env });
  }
}
