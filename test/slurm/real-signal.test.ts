// Under a real Slurm with the REAL trainer: the SIGTERM that
// `--signal=B:TERM@120` sends ahead of the time limit reaches the task's
// batch shell alone (simulated here, without waiting for a limit, by
// `scancel --batch --signal=TERM`); the shell forwards it, the job ends
// `interrupted` at a checkpoint, and a resubmission finishes it with the
// bytes of a local uninterrupted run. Skips without a reachable Slurm
// (scripts/slurm/start.sh starts one as root).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/runs/manifest.ts';
import { runCli } from '../exec/fixtures.ts';
import { checkpointStep, jobDirs, realProject, resultBytes, stepsLogged, type RealProject } from '../exec/realjob.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function slurmUp(): boolean {
  const r = spawnSync('sinfo', ['--noheader', '--Node', '--format=%T'], { encoding: 'utf8', timeout: 15_000 });
  return !r.error && r.status === 0 && /^(idle|mixed|allocated|completing)/m.test(r.stdout);
}

const live = (array: string): boolean => {
  const r = spawnSync('squeue', ['--noheader', '--array', '--jobs', array, '--format=%T'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
};

async function until(what: string, cond: () => boolean, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('slurm: SIGTERM ahead of the time limit, real trainer', function () {
  this.timeout(300_000);
  let p: RealProject | undefined;
  const arrays: string[] = [];
  before(function () {
    if (process.env.RLGRID_SKIP_SLURM_TESTS || !slurmUp()) {
      console.log('    SKIPPED: no reachable Slurm (scripts/slurm/start.sh starts one as root)');
      this.skip();
    }
    p = realProject({ steps: 150, seeds: [1], checkpointEvery: 50 });
    fs.chmodSync(p.root, 0o755);
  });
  after(() => {
    for (const a of arrays) spawnSync('scancel', [a]);
    if (p) fs.rmSync(p.root, { recursive: true, force: true });
  });

  it('the batch shell forwards SIGTERM: interrupted at a checkpoint, exit 130; the resubmission ends byte-identical to a local run', async () => {
    const prj = p!;
    const submit = async (): Promise<string> => {
      const r = await runCli(['run', prj.grid, '--executor', 'slurm', '--time', '30', '--runs-dir', prj.runs], prj.env, prj.root);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const m = /Slurm job array (\d+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      arrays.push(m[1]);
      return m[1];
    };
    const array = await submit();
    const script = fs.readdirSync(path.join(prj.runs, 'real', 'slurm')).find((f) => f.endsWith('.sbatch'))!;
    assert.match(fs.readFileSync(path.join(prj.runs, 'real', 'slurm', script), 'utf8'), /^#SBATCH --signal=B:TERM@120$/m);
    await until('the job to train', () => jobDirs(prj.runs).length === 1 && stepsLogged(jobDirs(prj.runs)[0]) >= 8);
    const dir = jobDirs(prj.runs)[0];
    const t0 = Date.now();
    const sc = spawnSync('scancel', ['--batch', '--signal=TERM', `${array}_0`], { encoding: 'utf8' });
    assert.equal(sc.status, 0, sc.stderr);
    await until('the task to end', () => !live(array));
    assert.ok(Date.now() - t0 < 15_000, `${Date.now() - t0} ms`);
    const m = readManifest(dir)!;
    assert.equal(m.status, 'interrupted');
    assert.match(m.reason ?? '', /stopped by SIGTERM/);
    const step = stepsLogged(dir);
    assert.ok(step >= 8 && step < 150, `at step ${step}`);
    assert.equal(checkpointStep(dir), step);
    const log = fs.readFileSync(path.join(prj.runs, 'real', 'slurm', script.replace(/\.sbatch$/, '-0.log')), 'utf8');
    assert.match(log, /rlgrid: SIGTERM at .*the job stops at its next step boundary/);
    assert.match(log, /rlgrid: task end: rlgrid exec exit code 130/);

    const again = await submit();
    await until('the resubmitted task to end', () => !live(again), 120_000);
    assert.equal(readManifest(dir)!.status, 'done');
    const ref = path.join(prj.root, 'runs-local');
    const r = await runCli(['run', prj.grid, '--runs-dir', ref, '--no-check'], prj.env, prj.root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(resultBytes(dir), resultBytes(jobDirs(ref)[0]));
  });
});
