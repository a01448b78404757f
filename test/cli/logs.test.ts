// rlgrid logs JOB [-f] [-n N]: a job's log.txt, followed while the job runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lastLines } from '../../src/cli/logs.ts';
import { runCli, startCli, testEnv, tmpDir, waitCli } from '../exec/fixtures.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('rlgrid logs', function () {
  this.timeout(60_000);

  it('the last n lines', () => {
    assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc\n');
    assert.equal(lastLines('a\nb\nc', 1), 'c');
    assert.equal(lastLines('a\nb\n', 0), '\n');
    assert.equal(lastLines('a\n', undefined), 'a\n');
  });

  it('-f follows a running job from before it starts until it ends; without -f it prints what is there', async () => {
    const root = tmpDir();
    try {
      const runs = path.join(root, 'runs');
      const grid = path.join(root, 'tiny.yaml');
      fs.writeFileSync(grid, 'version: 1\nname: tiny\nbase: {train: {steps: 20}, eval: {every: 10}}\naxes: {seed: [1]}\n');
      const env = testEnv({ RLGRID_RUNS_DIR: runs, RLGRID_TEST_STEP_MS: '100' });
      const run = startCli(['run', grid], env);
      const plan = path.join(runs, 'tiny', 'plan.json');
      for (let i = 0; i < 200 && !fs.existsSync(plan); i++) await sleep(50);
      assert.ok(fs.existsSync(plan), 'the run froze its plan');
      const following = startCli(['logs', 'tiny:seed=1', '-f', '--interval', '0.1'], env);
      const ended = waitCli(following); // listen before it can exit
      const r = await waitCli(run);
      assert.equal(r.code, 0, r.stderr);
      // -f returns by itself once the job has ended
      const timer = setTimeout(() => following.kill(), 10_000);
      const follow = await ended;
      clearTimeout(timer);
      assert.equal(follow.signal, null, `logs -f did not return after the job ended: ${JSON.stringify(follow)}`);
      assert.equal(follow.code, 0, follow.stderr);
      const id = JSON.parse(fs.readFileSync(plan, 'utf8')).jobs[0].id;
      const log = fs.readFileSync(path.join(runs, 'jobs', id, 'log.txt'), 'utf8');
      assert.equal(follow.stdout, log, 'everything the job logged, once, in order');
      assert.match(log, /test job: 20 steps\n[\s\S]*test job: done\n/);
      const tail = await runCli(['logs', id.slice(0, 6), '-n', '1'], env);
      assert.equal(tail.stdout, lastLines(log, 1));
      const bad = await runCli(['logs', 'tiny'], env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /tiny: not a job/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
