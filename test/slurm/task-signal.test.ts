// The Slurm task script under SIGTERM with the REAL trainer, without Slurm:
// the script rlgrid submits is run by bash as array task 0 would be
// (SLURM_ARRAY_TASK_ID=0) and signalled the two ways Slurm signals it:
//   - the shell alone (--signal=B:TERM@120, ahead of the time limit), which
//     forwards the signal to rlgrid exec;
//   - every process of the task at once (time limit or scancel without it).
// Both end `interrupted` at a checkpoint; a third run finishes the job, and
// its results equal an uninterrupted run's byte for byte. What this does not
// exercise is slurmd itself (test/slurm/slurm.test.ts does, where Slurm runs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { planGrid } from '../../src/grid/index.ts';
import { freezePlan, jobDir, openStore } from '../../src/runs/store.ts';
import { readManifest } from '../../src/runs/manifest.ts';
import { sbatchScript } from '../../src/exec/slurm/script.ts';
import { BIN, runCli } from '../exec/fixtures.ts';
import { checkpointStep, jobDirs, realProject, resultBytes, stepsLogged, type RealProject } from '../exec/realjob.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('slurm task script under SIGTERM (real trainer, bash without Slurm)', function () {
  this.timeout(240_000);
  const STEPS = 100;
  let p: RealProject;
  const groups: number[] = [];
  before(() => {
    p = realProject({ steps: STEPS, seeds: [1], checkpointEvery: 25 });
  });
  after(() => {
    // a failed assertion leaves no task script behind
    for (const g of groups) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // ended
      }
    }
    fs.rmSync(p.root, { recursive: true, force: true });
  });

  it('SIGTERM to the script alone, then to its whole process group: interrupted at a checkpoint each time; the next task finishes the job byte-identical to an uninterrupted run', async () => {
    const store = openStore(p.runs);
    const plan = planGrid(p.grid, { root: p.root });
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    const script = path.join(p.root, 'task.sbatch');
    fs.writeFileSync(
      script,
      sbatchScript({
        grid: plan.grid,
        submission: 1,
        runsRoot: p.runs,
        projectRoot: p.root,
        node: process.execPath,
        bin: BIN,
        jobIds: [plan.jobs[0].id],
        planIndexes: [0],
        logPattern: path.join(p.root, 'task-%a.log'),
        options: { time: '30', sbatchArgs: [] },
        jobRunner: 'grpo',
        rerunStale: false,
      }),
    );
    assert.match(fs.readFileSync(script, 'utf8'), /^#SBATCH --signal=B:TERM@120$/m);
    const env = { ...p.env, SLURM_ARRAY_TASK_ID: '0' };
    const task = async (signalAt: number | null, group: boolean): Promise<{ code: number | null; out: string; seconds: number }> => {
      // its own process group, as slurmstepd starts a task
      const child = spawn('bash', [script], { env, cwd: p.root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      groups.push(child.pid!);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      let t0 = performance.now();
      if (signalAt !== null) {
        const end = Date.now() + 60_000;
        while (stepsLogged(dir) < signalAt) {
          if (Date.now() > end) assert.fail(`no step ${signalAt} in time:\n${out}`);
          await sleep(10);
        }
        t0 = performance.now();
        process.kill(group ? -child.pid! : child.pid!, 'SIGTERM');
      }
      const code = await exited;
      // the job's own lines too, for a failure's message
      const log = path.join(dir, 'log.txt');
      out += fs.existsSync(log) ? `--- log.txt:\n${fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}` : '';
      return { code, out, seconds: (performance.now() - t0) / 1000 };
    };

    const first = await task(8, false);
    assert.equal(first.code, 130, first.out);
    assert.ok(first.seconds < 10, `${first.seconds} s`);
    assert.match(first.out, /rlgrid: SIGTERM at .*the job stops at its next step boundary/);
    assert.match(first.out, /rlgrid: task end: rlgrid exec exit code 130/);
    let m = readManifest(dir)!;
    assert.equal(m.status, 'interrupted');
    assert.match(m.reason ?? '', /stopped by SIGTERM/);
    const s1 = stepsLogged(dir);
    assert.ok(s1 >= 8 && s1 < STEPS);
    assert.equal(checkpointStep(dir), s1);

    const second = await task(s1 + 5, true);
    assert.equal(second.code, 130, second.out);
    assert.ok(second.seconds < 10, `${second.seconds} s`);
    m = readManifest(dir)!;
    assert.equal(m.status, 'interrupted');
    assert.match(m.reason ?? '', /stopped by SIGTERM/);
    const s2 = stepsLogged(dir);
    assert.ok(s2 > s1 && s2 < STEPS, `${s1} -> ${s2}`);
    assert.equal(checkpointStep(dir), s2);
    assert.ok(!fs.existsSync(path.join(dir, 'job.lock')));

    const third = await task(null, false);
    assert.equal(third.code, 0, third.out);
    m = readManifest(dir)!;
    assert.equal(m.status, 'done');
    assert.equal(m.attempts, 3);

    const ref = path.join(p.root, 'runs-straight');
    const r = await runCli(['run', p.grid, '--runs-dir', ref, '--no-check'], p.env, p.root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(resultBytes(dir), resultBytes(jobDirs(ref)[0]));
  });
});
