// rlgrid's entry point: one file per command, each exporting register().
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT_BAD_INPUT } from '../util/errors.ts';

type Register = (program: Command) => void;
const commands: Register[] = [
  // one line per command module (keep sorted by file name)
];

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

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
  } else throw e;
}
