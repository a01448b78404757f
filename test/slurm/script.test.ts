// The Slurm executor's parts that need no scheduler: option validation (also
// through the CLI), quoting, the script's shape, reading a task's Slurm log.
// test/slurm/slurm.test.ts runs the real scheduler.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { arraySpec, sbatchDirective, sbatchPatternLiteral, sbatchQuote, sbatchScript, shQuote } from '../../src/exec/slurm/script.ts';
import { parseTaskLog } from '../../src/exec/slurm/monitor.ts';
import { parseSlurmOptions, slurmRunOptions } from '../../src/cli/slurm.ts';
import { UserError } from '../../src/util/errors.ts';
import { runCli, testEnv, tmpDir } from '../exec/fixtures.ts';

const NASTY = [`it's`, `"dq"`, '$(touch /tmp/rlgrid-pwned)', '`id`', 'a\\b', 'semi; rm -rf x', "''", '%a %%', 'tab\there', 'new\nline', '!bang $HOME ${x}'];

describe('slurm: options, quoting and script', () => {
  it('shQuote: bash reads every string back unchanged, and runs none of it', () => {
    for (const s of NASTY) {
      const r = spawnSync('bash', ['-c', `printf %s ${shQuote(s)}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, s);
    }
    assert.throws(() => shQuote('a\0b'));
  });

  it('sbatchQuote / sbatchDirective / sbatchPatternLiteral: the forms sbatch parses', () => {
    assert.equal(sbatchQuote(`a "b" \\c $(x) 'y'`), `"a \\"b\\" \\\\c $(x) 'y'"`);
    assert.equal(sbatchDirective('--exclusive'), '#SBATCH --exclusive');
    assert.equal(sbatchDirective('--account=proj-1'), '#SBATCH --account=proj-1');
    assert.equal(sbatchDirective('--comment=$(touch /tmp/p) "x"'), '#SBATCH --comment="$(touch /tmp/p) \\"x\\""');
    assert.equal(sbatchDirective('-Jname with space'), '#SBATCH "-Jname with space"');
    assert.equal(sbatchPatternLiteral('/a/100%/b'), '/a/100%%/b');
    assert.throws(() => sbatchQuote('a\nb'));
  });

  it('parseSlurmOptions accepts Slurm forms and rejects everything else with every problem named', () => {
    assert.deepEqual(
      parseSlurmOptions({ partition: 'gpu,cpu', time: '1-02:03:04', cpusPerTask: '4', gpus: 'a100:2', mem: '16G', arrayParallelism: '3', sbatchArg: ['--account=x', '--exclusive'] }),
      { partition: 'gpu,cpu', time: '1-02:03:04', cpusPerTask: 4, gpus: 'a100:2', mem: '16G', arrayParallelism: 3, sbatchArgs: ['--account=x', '--exclusive'] },
    );
    for (const t of ['1', '0:30', '1:00:00', '2-0', '2-3:4', 'UNLIMITED']) assert.equal(parseSlurmOptions({ time: t }).time, t);
    const bad: [keyof Parameters<typeof parseSlurmOptions>[0], string | string[]][] = [
      ['partition', 'a;b'],
      ['partition', 'a b'],
      ['partition', '$(x)'],
      ['time', '1h'],
      ['time', '1:2:3:4'],
      ['time', '1; touch x'],
      ['mem', '1Q'],
      ['mem', '-1'],
      ['gpus', 'a100:'],
      ['gpus', '2 3'],
      ['cpusPerTask', '0'],
      ['cpusPerTask', '1.5'],
      ['arrayParallelism', '-2'],
      ['sbatchArg', ['$(touch /tmp/rlgrid-pwned)']],
      ['sbatchArg', ['--comment=a\nb']],
      ['sbatchArg', ['--array=0-9']],
      ['sbatchArg', ['--output=/etc/passwd']],
      ['sbatchArg', ['-o/x']],
      ['sbatchArg', ['--wrap=id']],
    ];
    for (const [k, v] of bad) assert.throws(() => parseSlurmOptions({ [k]: v }), UserError, `${k}=${JSON.stringify(v)}`);
    const e = (() => {
      try {
        parseSlurmOptions({ partition: 'a b', time: 'x', mem: 'y' });
      } catch (err) {
        return err as UserError;
      }
      return null;
    })();
    assert.equal(e?.diagnostics.length, 3);
  });

  it('slurmRunOptions: each executor refuses the other one\'s flags', () => {
    assert.equal(slurmRunOptions({ executor: 'local', jobs: '4' }), null);
    assert.throws(() => slurmRunOptions({ executor: 'local', partition: 'p' }), /--partition: only with --executor slurm/);
    assert.throws(() => slurmRunOptions({ executor: 'slurm', jobs: '2' }), /--jobs .*not with --executor slurm/);
    assert.throws(() => slurmRunOptions({ executor: 'slurm', failFast: true }), /--fail-fast/);
    assert.throws(() => slurmRunOptions({ executor: 'k8s' }), /expected local or slurm/);
    assert.deepEqual(slurmRunOptions({ executor: 'slurm', jobs: '1', retries: '0', time: '5' }), { time: '5', sbatchArgs: [] });
  });

  it('arraySpec: 0-(n-1), with %k', () => {
    assert.equal(arraySpec(1), '0-0');
    assert.equal(arraySpec(4, 2), '0-3%2');
    assert.throws(() => arraySpec(0));
  });

  it('sbatchScript: bash accepts it; paths with quotes are single-quoted; bad ids, names and paths are refused', () => {
    const input = {
      grid: { name: 'g', hash: 'abc' },
      submission: 3,
      runsRoot: `/tmp/x it's "q" $(touch p)/runs`,
      projectRoot: '/work/p',
      node: '/usr/bin/node',
      bin: '/work/p/bin/rlgrid.js',
      jobIds: ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'],
      planIndexes: [0, 5],
      logPattern: `/tmp/x it's "q" $(touch p)/runs/g/slurm/submit-3-%a.log`,
      options: { partition: 'p1', time: '10', sbatchArgs: ['--comment=$(touch /tmp/p) "x"'] },
      jobRunner: 'test',
      rerunStale: true,
    };
    const text = sbatchScript(input);
    const lines = text.split('\n');
    assert.ok(lines.includes('#SBATCH --array=0-1'));
    assert.ok(lines.includes(`#SBATCH --output="/tmp/x it's \\"q\\" $(touch p)/runs/g/slurm/submit-3-%a.log"`));
    assert.ok(lines.includes('#SBATCH --partition=p1'));
    assert.ok(lines.includes('#SBATCH --time=10'));
    assert.ok(lines.includes('#SBATCH --comment="$(touch /tmp/p) \\"x\\""'));
    assert.ok(lines.includes(`dir='/tmp/x it'\\''s "q" $(touch p)/runs/jobs/'"$job"`));
    assert.ok(lines.includes(`export RLGRID_RUNS_DIR='/tmp/x it'\\''s "q" $(touch p)/runs'`));
    assert.ok(lines.includes(`export RLGRID_JOB_RUNNER='test'`));
    assert.ok(
      lines.includes(`  '/usr/bin/node' '/work/p/bin/rlgrid.js' exec "$dir" --from-run --grid 'g' --grid-hash 'abc' --rerun-stale >>"$dir/log.txt" 2>&1 &`),
      text,
    );
    // a 10-minute limit: SIGTERM to the script 120 s ahead; none under 5 minutes, none when the user sets --signal
    assert.ok(lines.includes('#SBATCH --signal=B:TERM@120'));
    assert.ok(!sbatchScript({ ...input, options: { ...input.options, time: '4:59' } }).includes('--signal'));
    assert.ok(sbatchScript({ ...input, options: { ...input.options, time: '0-1' } }).includes('#SBATCH --signal=B:TERM@120'));
    const own = sbatchScript({ ...input, options: { ...input.options, sbatchArgs: ['--signal=B:USR1@300'] } });
    assert.deepEqual(own.split('\n').filter((l) => l.includes('--signal')), ['#SBATCH --signal=B:USR1@300']);
    assert.equal(spawnSync('bash', ['-n'], { input: text }).status, 0);
    assert.throws(() => sbatchScript({ ...input, jobIds: ['../../etc'] }));
    assert.throws(() => sbatchScript({ ...input, grid: { name: 'a b', hash: 'x' } }));
    assert.throws(() => sbatchScript({ ...input, runsRoot: '/tmp/a\nb' }), UserError);
    assert.throws(() => sbatchScript({ ...input, logPattern: '/tmp/a\\b/%a.log' }), UserError);
    assert.throws(() => sbatchScript({ ...input, runsRoot: 'relative/runs' }), UserError);
  });

  it("parseTaskLog: how a task ended, from the script's lines and slurmstepd's", () => {
    const start = 'rlgrid: array task 0 = Slurm job 5_0 (job id 6) on vm: job abc, start 2026-01-01T00:00:00+00:00\n';
    assert.equal(parseTaskLog(''), null);
    assert.deepEqual(parseTaskLog(start + 'slurmstepd-vm: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:01:10 DUE TO TIME LIMIT ***\n')?.state, 'TIMEOUT');
    assert.match(parseTaskLog(start + 'slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:01:10 DUE TO TIME LIMIT ***\n')!.reason, /^time limit/);
    assert.equal(parseTaskLog(start + 'slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:00:09 ***\n')?.state, 'CANCELLED');
    assert.equal(parseTaskLog(start + 'slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:00:09 DUE TO NODE FAILURE ***\n')?.state, 'NODE_FAIL');
    assert.equal(parseTaskLog(start + 'slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:00:09 DUE TO PREEMPTION ***\n')?.state, 'PREEMPTED');
    assert.equal(parseTaskLog(start + 'slurmstepd: error: Detected 1 oom_kill event in StepId=6.batch. Some of the step tasks have been OOM Killed.\n')?.state, 'OUT_OF_MEMORY');
    assert.equal(parseTaskLog(start + 'rlgrid: task end: rlgrid exec exit code 0 at x\n')?.state, 'COMPLETED');
    assert.deepEqual(parseTaskLog(start + 'rlgrid: task end: rlgrid exec exit code 1 at x\n'), { state: 'FAILED', reason: 'rlgrid exec exited with code 1' });
    assert.equal(parseTaskLog(start)?.state, 'UNKNOWN');
    // a requeued task appends: only the last start counts
    const earlier = start + 'slurmstepd: error: *** JOB 6 ON vm CANCELLED AT 2026-01-01T00:01:10 DUE TO TIME LIMIT ***\n';
    assert.equal(parseTaskLog(earlier + start + 'rlgrid: task end: rlgrid exec exit code 0 at x\n')?.state, 'COMPLETED');
  });

  it('run --executor slurm refuses bad Slurm values, unsafe grid names and the other executor\'s flags (exit 2, nothing written)', async function () {
    this.timeout(60_000);
    const root = tmpDir('rlgrid-slurm-bad-');
    const runs = path.join(root, 'bad-runs');
    const file = path.join(root, 'bad.yaml');
    fs.writeFileSync(file, 'version: 1\nname: bad\nbase: {train: {steps: 3}}\naxes: {seed: [1]}\n');
    const cases: [string[], RegExp][] = [
      [['--partition', 'a;touch x'], /--partition/],
      [['--time', '1h'], /--time/],
      [['--mem', '$(id)'], /--mem/],
      [['--gpus', '1 2'], /--gpus/],
      [['--cpus-per-task', '0'], /--cpus-per-task/],
      [['--sbatch-arg', '$(touch /tmp/rlgrid-pwned)'], /--sbatch-arg/],
      [['--sbatch-arg=--output=/tmp/x'], /rlgrid sets those/],
      [['--jobs', '2'], /not with --executor slurm/],
    ];
    const env = testEnv();
    // three at a time: each is a CLI process
    for (let i = 0; i < cases.length; i += 3)
      await Promise.all(
        cases.slice(i, i + 3).map(async ([args, msg]) => {
          const r = await runCli(['run', file, '--executor', 'slurm', ...args, '--runs-dir', runs], env);
          assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, msg);
        }),
      );
    const local = await runCli(['run', file, '--partition', 'p', '--runs-dir', runs], env);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--partition: only with --executor slurm/);
    // a plan whose grid name has spaces and quotes cannot name a run directory, let alone a script
    const plan = JSON.parse(JSON.stringify({ version: 1, grid: { name: `x y'"z`, file: '/x.yaml', hash: 'h' }, axes: [], jobs: [], duplicates: [], claims: [] }));
    const pf = path.join(root, 'badname.plan.json');
    fs.writeFileSync(pf, JSON.stringify(plan));
    const bn = await runCli(['run', pf, '--executor', 'slurm', '--runs-dir', runs], env);
    assert.equal(bn.code, 2, bn.stderr);
    assert.match(bn.stderr, /cannot name a run directory/);
    assert.ok(!fs.existsSync(runs), 'nothing written');
    fs.rmSync(root, { recursive: true, force: true });
  });
});
