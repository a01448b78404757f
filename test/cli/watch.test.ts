// `rlgrid status --watch` and the progress lines of `rlgrid run` off a
// terminal: real processes with the test job runner, whose steps the tests
// pace (RLGRID_TEST_STEP_MS) and count in metrics.jsonl.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { jobDir, openStore } from '../../src/runs/store.ts';
import { runCli, seedPlan, startCli, testEnv, tmpDir, waitCli, writePlan } from '../exec/fixtures.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const steps = (dir: string): number => {
  const f = path.join(dir, 'metrics.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').length - 1 : 0;
};

describe('rlgrid status --watch; run progress off a terminal', function () {
  this.timeout(120_000);
  let root: string;
  beforeEach(() => (root = tmpDir('rlgrid-watch-')));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('redraws while jobs run and ends by itself once none is pending or running', async () => {
    const plan = seedPlan('w', [1, 2, 3], 60); // 60 x 60 ms: longer than the 2 s a watcher needs before it shows a rate
    const file = writePlan(root, plan);
    const runs = path.join(root, 'runs');
    const env = testEnv({ RLGRID_TEST_STEP_MS: '60', COLUMNS: '120' });
    const run = startCli(['run', file, '--runs-dir', runs, '--jobs', '2', '--progress-every', '1'], env);
    const ran = waitCli(run); // listening from now: the run may end before the watch does
    const store = openStore(runs);
    const end = Date.now() + 30_000;
    while (!plan.jobs.some((j) => steps(jobDir(store, j.id)) > 0)) {
      if (Date.now() > end) assert.fail(`the run did not start: ${run.out.stderr}`);
      await sleep(20);
    }
    const w = await runCli(['status', 'w', '--watch', '--interval', '0.4', '--runs-dir', runs], env);
    const r = await ran;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(w.code, 0, w.stderr);
    // views one after another (not a terminal: printed, not redrawn), the first with jobs mid-run
    const views = w.stdout.split(/\n(?=┌)/);
    assert.ok(views.length >= 3, w.stdout);
    const running = [...w.stdout.matchAll(/│ ([0-9a-f]{12}) │ \d +│ running │ (\d+)\/60 +│ +│ ([\d.-]+) +│ [^│]*│ ([\d.]+) +│ ([\d.]+) +│/g)];
    assert.ok(running.length >= 2, w.stdout);
    assert.ok(running.every((m) => Number(m[2]) >= 1 && Number(m[2]) < 60), w.stdout);
    // the entropy and reward shown are the job's metrics.jsonl values at that step (3 digits)
    for (const m of running) {
      const rows = fs.readFileSync(path.join(jobDir(store, m[1]), 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
      const row = rows.find((x) => x.step === Number(m[2]))!;
      assert.equal(Number(m[4]), Number(row['actor/entropy'].toPrecision(3)));
      assert.equal(Number(m[5]), Number(row['critic/score/mean'].toPrecision(3)));
    }
    // a rate once the watcher saw 2 s of steps: 60 ms a step is at most 16.7 steps/s
    // (no lower bound: on a loaded 2-core machine the paced steps themselves slow down)
    const rates = running.map((m) => Number(m[3])).filter((x) => Number.isFinite(x));
    assert.ok(rates.length > 0 && rates.every((x) => x > 0 && x < 16.7), `${rates}`);
    const last = views[views.length - 1];
    assert.equal([...last.matchAll(/│ done +│ 60\/60/g)].length, 3, last);
    assert.match(last, /w: 3 jobs: 3 done/);
    // the run, off a terminal: plain progress lines every second, and a summary with what to run next
    assert.match(r.stderr, /progress [0-9a-f]{12}  seed=\d  step \d+\/60  [\d.-]+ steps\/s  entropy [\d.]+  reward [\d.]+/);
    assert.doesNotMatch(r.stderr, /\x1b\[/); // no spinner, no escape codes
    assert.match(r.stdout, /wall time \d+\.\ds\nnext: rlgrid table \S+w\.plan\.json --runs-dir \S+\n {6}rlgrid check .*\n {6}rlgrid report /);
  });

  it('Ctrl-C ends a watch (exit 0); --watch with --json is refused (exit 2)', async () => {
    const plan = seedPlan('p', [1], 400);
    const file = writePlan(root, plan);
    const runs = path.join(root, 'runs');
    const env = testEnv({ RLGRID_TEST_STEP_MS: '50' });
    const run = startCli(['run', file, '--runs-dir', runs], env);
    const ran = waitCli(run);
    const store = openStore(runs);
    const end = Date.now() + 30_000;
    while (steps(jobDir(store, plan.jobs[0].id)) === 0) {
      if (Date.now() > end) assert.fail(`the run did not start: ${run.out.stderr}`);
      await sleep(20);
    }
    const w = startCli(['status', 'p', '--watch', '--interval', '0.2', '--runs-dir', runs], env);
    const watched = waitCli(w);
    while (!w.out.stdout.includes('running')) await sleep(20);
    const t0 = performance.now();
    w.kill('SIGINT');
    const wr = await watched;
    assert.equal(wr.code, 0, wr.stderr);
    assert.ok(performance.now() - t0 < 2000);
    run.kill('SIGTERM');
    await ran;
    const j = await runCli(['status', 'p', '--watch', '--json', '--runs-dir', runs], env);
    assert.equal(j.code, 2);
    assert.match(j.stderr, /--watch .* no --json/);
  });
});
