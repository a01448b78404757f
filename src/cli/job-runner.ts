// The job runner an `rlgrid exec` worker calls, chosen here at the top floor:
// the GRPO trainer, or with RLGRID_JOB_RUNNER=test the test-only runner of
// rlgrid's own tests (src/exec/testjob.ts). Both are loaded on demand (the
// trainer pulls in TensorFlow.js); literal paths, so that import graphs and
// the bundled CLI (bin/bundle.js) see them.
import type { JobRunner } from '../runs/context.ts';
import { UserError } from '../util/errors.ts';
import { JOB_RUNNER_ENV } from '../exec/worker-command.ts';

export async function chooseJobRunner(env: NodeJS.ProcessEnv = process.env): Promise<JobRunner> {
  const which = env[JOB_RUNNER_ENV] ?? 'grpo';
  if (which === 'test') return (await import('../exec/testjob.ts')).runJob;
  if (which !== 'grpo') throw new UserError(`${JOB_RUNNER_ENV}=${which}: unknown runner (grpo, or test for rlgrid's own tests)`);
  return (await import('../grpo/job.ts')).runJob;
}
