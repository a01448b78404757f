// Every exit code of rlgrid's commands, its `exec` workers and the Slurm task
// script (one owner: the launchers read back what the workers return).
/** the command did what was asked */
export const EXIT_OK = 0;
/** a job or a check failed */
export const EXIT_FAILED = 1;
/** bad input or usage (a clear message, no stack trace) */
export const EXIT_BAD_INPUT = 2;
/** `exec`: another process holds the job's lock (EX_TEMPFAIL); its launcher tries again or waits */
export const EXIT_LOCKED = 75;
/** stopped by SIGINT (128 + 2, as a shell reports Ctrl-C); `exec`: the job stopped at a step boundary */
export const EXIT_INTERRUPTED = 130;
/** stopped by SIGTERM (128 + 15) */
export const EXIT_TERMINATED = 143;
