// `rlgrid logs JOB [-f] [-n N]`: a job's log.txt (what its workers printed:
// the backend, each logged step, failures). -f follows it while the job is
// pending or running and stops when it ends (Ctrl-C stops it earlier).
import fs from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { action, runsDir, runsDirOption } from './common.ts';

interface LogsOpts {
  follow?: boolean;
  lines?: string;
  interval: string;
  runsDir?: string;
}

/** The last `n` lines of a text (all of it when n is undefined). */
export function lastLines(text: string, n: number | undefined): string {
  if (n === undefined) return text;
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  return lines.slice(Math.max(0, lines.length - n)).join('\n') + (trailing === '' ? '\n' : '');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function logsCommand(job: string, opts: LogsOpts): Promise<number> {
  const n = opts.lines === undefined ? undefined : Number(opts.lines);
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new UserError(`--lines ${opts.lines}: expected an integer >= 0`);
  const every = Number(opts.interval);
  if (!(every > 0)) throw new UserError(`--interval ${opts.interval}: expected seconds > 0`);
  const { loadRun } = await import('../report/load.ts');
  const { jobStatus } = await import('../runs/store.ts');
  const { readManifest } = await import('../runs/manifest.ts');
  const { jobPath } = await import('../runs/layout.ts');
  const { resolveRunArg } = await import('./grid-arg.ts');
  const r = loadRun(await resolveRunArg(job, runsDir(opts.runsDir)), runsDir(opts.runsDir));
  if (r.kind !== 'job' || !r.record.dir) throw new UserError(`${job}: not a job (give a job id, GRID:axis=label or a job's run directory)`);
  const dir = r.record.dir;
  const file = jobPath(dir, 'log');
  const size = () => (fs.existsSync(file) ? fs.statSync(file).size : 0);
  const read = (from: number, to: number): string => {
    if (to <= from) return '';
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(to - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  };
  let at = size();
  process.stdout.write(lastLines(read(0, at), n));
  if (!opts.follow) {
    if (at === 0) process.stderr.write(`${job}: no log yet (${file})\n`);
    return 0;
  }
  const live = () => {
    const s = fs.existsSync(jobPath(dir, 'manifest')) ? jobStatus(dir, readManifest(dir)) : 'pending';
    return s === 'pending' || s === 'running';
  };
  let stop = false;
  const onSignal = () => void (stop = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (;;) {
      const ended = !live(); // judged before reading, so the job's last lines are printed
      const now = size();
      if (now < at) at = 0; // the log was replaced: start over
      process.stdout.write(read(at, now));
      at = now;
      if (ended || stop) return 0;
      await sleep(every * 1000);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a job's log.txt; -f follows it until the job ends")
    .argument('<job>', 'job id (or a unique prefix), GRID:axis=label[,axis=label], or a run directory')
    .option('-f, --follow', 'keep printing what the job logs while it is pending or running')
    .option('-n, --lines <n>', 'only the last n lines of what is there already')
    .option('--interval <s>', 'with -f: seconds between looks at the file', '0.5')
    .addOption(runsDirOption())
    .action(action((job: string, opts: LogsOpts) => logsCommand(job, opts)));
}
