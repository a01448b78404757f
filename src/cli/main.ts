// rlgrid's entry point: one file per command, each exporting register().
// Every `rlgrid exec` worker loads all of them, so a command module imports
// only commander, common.ts and light helpers at top level, and what its
// action needs with `await import(...)` (test/cli/lazy.test.ts).
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT_BAD_INPUT } from '../util/exit-codes.ts';
import { reportError } from './common.ts';
import { register as cancel } from './cancel.ts';
import { register as check } from './check.ts';
import { register as diff } from './diff.ts';
import { register as exec } from './exec.ts';
import { register as exportCmd } from './export.ts';
import { register as logs } from './logs.ts';
import { register as ls } from './ls.ts';
import { register as plan } from './plan.ts';
import { register as plot } from './plot.ts';
import { register as pretrain } from './pretrain.ts';
import { register as report } from './report.ts';
import { register as reproduce } from './reproduce.ts';
import { register as run } from './run.ts';
import { register as status } from './status.ts';
import { register as table } from './table.ts';
import { register as validate } from './validate.ts';

type Register = (program: Command) => void;
const commands: Register[] = [
  // one line per command module (keep sorted by file name)
  cancel,
  check,
  diff,
  exec,
  exportCmd,
  logs,
  ls,
  plan,
  plot,
  pretrain,
  report,
  reproduce,
  run,
  status,
  table,
  validate,
];

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// `rlgrid plan ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command('rlgrid')
  .description('Declarative experiment grids for RL with verifiable rewards (GRPO)')
  .version(pkg.version)
  .showHelpAfterError()
  .exitOverride();
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; usage errors exit 2 (commander already printed them).
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else process.exitCode = reportError(e);
}
