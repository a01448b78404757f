// Which launcher runs a grid's jobs (`run --executor local|slurm`), and the
// one whose submissions `status` and `cancel` read. The launchers themselves
// are in src/exec/ (launcher.ts: the interface); each is loaded on demand.
import type { LocalLauncher, LocalLaunchOptions } from '../exec/local.ts';
import type { SlurmLauncher } from '../exec/slurm/launcher.ts';
import type { SubmitResult } from '../exec/slurm/submit.ts';
import type { Plan } from '../grid/types.ts';
import type { Store } from '../runs/store.ts';
import { slurmRunOptions, submitReport, type RunCliValues } from './slurm.ts';

export type ChosenLauncher = LocalLauncher | SlurmLauncher;

/** `run --executor`'s launcher, its flags checked (a flag of the other executor is a usage error). */
export async function chooseLauncher(v: RunCliValues, local: LocalLaunchOptions): Promise<ChosenLauncher> {
  const slurm = slurmRunOptions(v);
  if (slurm) return new (await import('../exec/slurm/launcher.ts')).SlurmLauncher(slurm);
  return new (await import('../exec/local.ts')).LocalLauncher(local);
}

/**
 * The launcher that queues jobs elsewhere (Slurm): `status` merges its view
 * of the jobs it submitted, `cancel` cancels what it still has queued or
 * running. A local launch has nothing of the kind (its run stops with Ctrl-C).
 */
export async function queueLauncher(): Promise<SlurmLauncher> {
  return new (await import('../exec/slurm/launcher.ts')).SlurmLauncher();
}

/** What `run` prints for a launch that queued its jobs (dryRun: written, not submitted). */
export function queuedReport(store: Store, plan: Plan, launched: SubmitResult, dryRun: boolean): string {
  return submitReport(store, plan, launched, dryRun);
}
