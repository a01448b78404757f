// rlgrid diff A B: what differs between two jobs, or between two grids' tables.
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { action, runsDir, runsDirOption } from './common.ts';

export interface DiffCliOptions {
  all?: boolean;
  json?: boolean;
  filter?: string[];
  limit: string;
  tolerance: string;
  runsDir?: string;
}

export async function diffCommand(a: string, b: string, opts: DiffCliOptions): Promise<number> {
  const tolerance = Number(opts.tolerance);
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new UserError(`--tolerance must be a number >= 0, got "${opts.tolerance}"`);
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UserError(`--limit must be an integer >= 1, got "${opts.limit}"`);
  const { diffJobs, diffTables, filterJobDiff, renderGridDiff, renderJobDiff } = await import('../report/diff.ts');
  const { loadRun } = await import('../report/load.ts');
  const { buildTable } = await import('../report/table.ts');
  const dir = runsDir(opts.runsDir);
  const { resolveRunArg } = await import('./grid-arg.ts');
  const ra = loadRun(await resolveRunArg(a, dir), dir);
  const rb = loadRun(await resolveRunArg(b, dir), dir);
  if (ra.kind === 'job' && rb.kind === 'job') {
    const d = filterJobDiff(diffJobs(ra.record, rb.record, { tolerance }), opts.filter ?? []);
    if (opts.json) {
      const keep = <T extends { same: boolean }>(xs: T[]) => (opts.all ? xs : xs.filter((x) => !x.same));
      const { jobRef, printData } = await import('./json.ts');
      const sideOf = (r: typeof ra.record, s: typeof d.a) => ({ ...jobRef(r), status: s.status, dir: s.dir });
      printData('diff', { kind: 'jobs', ...d, a: sideOf(ra.record, d.a), b: sideOf(rb.record, d.b), config: keep(d.config), environment: keep(d.environment), final: keep(d.final), curves: opts.all ? d.curves : d.curves.filter((c) => c.firstExact) });
    } else process.stdout.write(renderJobDiff(d, { all: opts.all, relativeTo: process.cwd(), limit: opts.all || opts.filter?.length ? Infinity : limit, filtered: (opts.filter?.length ?? 0) > 0 }));
    return 0;
  }
  if (ra.kind === 'grid' && rb.kind === 'grid') {
    const d = diffTables(buildTable(ra.plan, ra.records, { labelOrder: ra.labelOrder }), buildTable(rb.plan, rb.records, { labelOrder: rb.labelOrder }), [a, b]);
    if (opts.json) (await import('./json.ts')).printData('diff', { kind: 'grids', ...d });
    else process.stdout.write(renderGridDiff(d));
    return 0;
  }
  throw new UserError(`cannot compare a ${ra.kind} (${a}) with a ${rb.kind} (${b}): give two jobs or two grids`);
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('what differs between two jobs (config, environment, final metrics, where curves diverge) or two grids (table cells)')
    .argument('<a>', 'run directory, job id, GRID:axis=label[,axis=label], or a grid')
    .argument('<b>', 'the same kinds as A')
    .option('--all', 'show what is the same too (and times, attempts), every line')
    .option('--filter <pattern>', 'only keys, paths and series containing PATTERN or matching it as a glob (* and ?), e.g. entropy or final.*_gap (repeatable)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--limit <n>', 'two jobs: at most n lines per section, headline keys (entropy, scores) first (without --all or --filter)', '12')
    .option('--json', 'print the comparison as JSON')
    .option('--tolerance <rel>', 'relative tolerance for "curves diverge beyond"', '0.001')
    .addOption(runsDirOption())
    .action(action((a: string, b: string, opts: DiffCliOptions) => diffCommand(a, b, opts)));
}
