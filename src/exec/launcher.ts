// The launcher interface: where a grid's jobs run. Every launcher starts the
// same worker (`rlgrid exec`, worker-command.ts), which decides under the
// job's lock whether and how the job runs, so jobs launched by different
// launchers mix freely. Implementations: local.ts (worker processes on this
// machine), slurm/launcher.ts (one Slurm job array per submission). The CLI
// picks one (src/cli/launchers.ts).
import type { Plan, PlannedJob } from '../grid/types.ts';
import type { CodeVersion } from '../runs/manifest.ts';
import type { FreezeResult, JobRecord, Store } from '../runs/store.ts';

export interface LaunchRequest {
  /** re-run done jobs whose code changed (their results move to previous/<n>/) */
  rerunStale: boolean;
  /** the code version the workers record */
  code: CodeVersion;
  /** the workers' working directory (the project root) */
  projectRoot: string;
  /** a scheduler launcher: write the submission, do not submit it */
  dryRun?: boolean;
  /** called once the plan is frozen under the runs directory (a local launch: before any job starts) */
  onFrozen?: (frozen: FreezeResult) => void | Promise<void>;
}

/** A launcher's view of the jobs it launched, merged into their records. */
export interface LaunchView<View> {
  /** the records, a job's status and reason amended where the launcher knows better (a task the scheduler ended) */
  records: JobRecord[];
  /** per job id: what the launcher knows of it (only jobs it launched) */
  views: Map<string, View>;
  /** things the reader should know (the scheduler could not be asked, ...) */
  notes: string[];
}

/**
 * `Launched`: what submit returns; `View`: what status knows of one job;
 * `Cancelled`: what cancel did.
 */
export interface Launcher<Launched, View, Cancelled> {
  /** its --executor name; also the key of its column and fields in `status` */
  readonly kind: string;
  /**
   * true: submit hands the jobs to a scheduler and returns (a dry run writes
   * the submission without submitting it); false: submit runs them to an end
   * here (a dry run is the caller's, without the launcher).
   */
  readonly queues: boolean;
  /** Freeze the plan into the store and launch these of its jobs. */
  submit(store: Store, plan: Plan, jobs: PlannedJob[], req: LaunchRequest): Promise<Launched>;
  /** The launcher's view of a grid's job records (unchanged records for jobs it did not launch). */
  status(store: Store, records: JobRecord[]): LaunchView<View>;
  /** A view as a table cell. */
  viewText(view: View | undefined): string;
  /** Stop the grid's jobs it launched that are still queued or running. */
  cancel(store: Store, grid: string, opts: { waitMs?: number }): Promise<Cancelled>;
}
