// Arguments that name things: a grid name never reaches outside the runs
// directory, --sbatch-arg refuses every abbreviation of the options rlgrid
// writes itself, and a label holding "," or "=" is selected exactly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseSlurmOptions } from '../../src/cli/slurm.ts';
import { parseSelector } from '../../src/report/select.ts';
import { UserError } from '../../src/util/errors.ts';
import { runCli, testEnv, tmpDir } from '../exec/fixtures.ts';

describe('arguments that name things', function () {
  this.timeout(60_000);

  it('--sbatch-arg: every unique-prefix abbreviation of a reserved sbatch option is refused; other options pass', () => {
    for (const a of ['--outp=x', '--out=x', '--arr=0-3', '--ar=1', '--chd=/tmp', '--hol', '--ho', '--wra=ls', '--open-m=truncate', '--pars', '--err=/x', '--output=x', '-ox', '-a1'])
      assert.throws(() => parseSlurmOptions({ sbatchArg: [a] }), (e: unknown) => e instanceof UserError && /rlgrid sets those/.test(e.message), a);
    assert.deepEqual(parseSlurmOptions({ sbatchArg: ['--account=A', '--qos=high', '--partition=p', '--signal=B:TERM@300', '--exclusive'] }).sbatchArgs, [
      '--account=A',
      '--qos=high',
      '--partition=p',
      '--signal=B:TERM@300',
      '--exclusive',
    ]);
  });

  it('GRID:axis=label: with the axes known, a label holding "," or "=" is one label', () => {
    assert.deepEqual(parseSelector('method=a,b=c,seed=1', ['method', 'seed']), { method: 'a,b=c', seed: '1' });
    assert.deepEqual(parseSelector('method=GRPO N=1,seed=2', ['method', 'seed']), { method: 'GRPO N=1', seed: '2' });
    assert.deepEqual(parseSelector('method=x,seed=1'), { method: 'x', seed: '1' });
  });

  it('status and table refuse a grid argument that is a path out of the runs directory (exit 2, nothing read)', async () => {
    const root = tmpDir();
    try {
      const runs = path.join(root, 'runs');
      fs.mkdirSync(path.join(root, 'secret'), { recursive: true });
      fs.writeFileSync(path.join(root, 'secret', 'plan.json'), '{}');
      for (const cmd of ['status', 'table'])
        for (const arg of ['../secret', '..', 'a/../../secret']) {
          const r = await runCli([cmd, arg, '--runs-dir', runs], testEnv());
          assert.equal(r.code, 2, `${cmd} ${arg}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, /is not a grid name/, `${cmd} ${arg}`);
          assert.doesNotMatch(r.stderr, /not a valid plan/);
        }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
