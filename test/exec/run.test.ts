// `rlgrid run / status / ls` end to end: real processes, real files, the test runner.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Plan } from '../../src/grid/types.ts';
import { Rng } from '../../src/util/rng.ts';
import { checkJobFiles, freezePlan, gridPlan, jobDir, loadJobRecords, openStore, type Store } from '../../src/runs/store.ts';
import { shortId } from '../../src/util/canonical.ts';
import { readManifest, writeManifest } from '../../src/runs/manifest.ts';
import { manifestSchemaErrors } from '../../src/runs/schema.ts';
import {
  CODE_A,
  CODE_B,
  executions,
  job,
  reference,
  resultFiles,
  runCli,
  seedPlan,
  startCli,
  testEnv,
  tmpDir,
  VALIDATE,
  waitCli,
  writePlan,
} from './fixtures.ts';

/** Every job directory of the store is readable and its manifest matches the schema. */
function assertStoreSound(store: Store, plan: Plan, opts: { quiet?: boolean } = {}): void {
  checkJobFiles(store, plan.jobs);
  for (const j of plan.jobs) {
    const dir = jobDir(store, j.id);
    const m = readManifest(dir);
    if (!m) continue;
    assert.deepEqual(manifestSchemaErrors(m), [], `${dir}/manifest.json`);
    if (opts.quiet) assert.ok(!fs.existsSync(path.join(dir, 'job.lock')), `${dir}: lock left behind`);
  }
}

async function assertMatchesReference(store: Store, plan: Plan): Promise<void> {
  for (const j of plan.jobs) assert.deepEqual(resultFiles(jobDir(store, j.id)), await reference(j.config), `job ${j.id} (seed ${j.config.seed})`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

const metricLines = (store: Store, plan: Plan): number =>
  plan.jobs.reduce((n, j) => {
    const f = path.join(jobDir(store, j.id), 'metrics.jsonl');
    return n + (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').length - 1 : 0);
  }, 0);

describe('rlgrid run / status / ls', function () {
  this.timeout(60_000);
  let root: string;
  let runs: string;
  let store: Store;
  let execLog: string;
  beforeEach(() => {
    root = tmpDir();
    runs = path.join(root, 'runs');
    store = openStore(runs);
    execLog = path.join(root, 'executions.jsonl');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => testEnv({ RLGRID_TEST_EXEC_LOG: execLog, ...extra });

  it('runs a grid file, reuses finished jobs of an overlapping grid, honours --only and --dry-run, keeps a re-planned grid\'s old plan; status and ls report it', async () => {
    const grid = (name: string, seeds: number[]): string => {
      const f = path.join(root, `${name}.yaml`);
      fs.writeFileSync(f, `version: 1\nname: ${name}\nbase: {train: {steps: 5}, eval: {every: 2}}\naxes: {seed: [${seeds.join(', ')}]}\n`);
      return f;
    };
    const fa = grid('a', [1, 2, 3]);
    const fb = grid('b', [3, 4, 5]);

    const dry = await runCli(['run', fa, '--dry-run', '--runs-dir', runs], env());
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.match(/run \(new\)/g)?.length, 3);
    assert.ok(!fs.existsSync(runs), 'a dry run writes nothing');

    const r = await runCli(['run', fa, '--jobs', '2', '--runs-dir', runs], env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/│ done /g)?.length, 3, r.stdout);
    assert.match(r.stdout, /a: 3 done/);
    assert.deepEqual(executions(execLog).map((e) => e.seed).sort(), [1, 2, 3]);
    const a = gridPlan(store, 'a');
    assert.deepEqual(a.jobs.map((j) => j.labels.seed), ['1', '2', '3']);
    await assertMatchesReference(store, a);
    assertStoreSound(store, a, { quiet: true });

    // b shares seed 3 with a; --only picks 3 and 4 (5 stays pending); the frozen plan is the whole grid
    const rb = await runCli(['run', fb, '--only', 'seed=3', '--only', 'seed=4'], testEnv({ RLGRID_TEST_EXEC_LOG: execLog, RLGRID_RUNS_DIR: runs }));
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(executions(execLog).map((e) => e.seed).sort(), [1, 2, 3, 4], 'seed 3 was not run again');
    assert.match(rb.stdout, /done \(skipped\)/);
    const b = gridPlan(store, 'b');
    assert.equal(b.jobs[0].id, a.jobs[2].id);
    assert.equal(fs.realpathSync(path.join(runs, 'b', b.jobs[0].id)), fs.realpathSync(jobDir(store, a.jobs[2].id)));

    // a grows a seed that b already ran: nothing to execute; its earlier plan is kept
    grid('a', [1, 2, 3, 4]);
    const ra = await runCli(['run', fa, '--runs-dir', runs], env());
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(executions(execLog).length, 4);
    assert.match(ra.stderr, /the earlier plan is kept as .*plan\.[0-9a-f]{12}\.json/);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runs, 'a', `plan.${shortId(a)}.json`), 'utf8')), a);
    assert.equal(gridPlan(store, 'a').jobs.length, 4);

    assert.deepEqual(
      loadJobRecords(store, b, { code: JSON.parse(CODE_A) }).map((j) => [j.labels.seed, j.status, j.step, j.steps, j.stale]),
      [
        ['3', 'done', 5, 5, false],
        ['4', 'done', 5, 5, false],
        ['5', 'pending', 0, 5, false],
      ],
    );
    const ls = await runCli(['ls', '--json', '--runs-dir', runs], env());
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      JSON.parse(ls.stdout).grids.map((g: { grid: { name: string }; jobs: number; counts: Record<string, number> }) => [g.grid.name, g.jobs, g.counts.done, g.counts.pending]),
      [
        ['a', 4, 4, 0],
        ['b', 3, 2, 1],
      ],
    );

    // a grid file never run under its own name: status reads its jobs where a and b ran them, and freezes nothing
    const fc = grid('c', [1, 5]);
    const sc = await runCli(['status', fc, '--json', '--runs-dir', runs], env());
    assert.equal(sc.code, 0, sc.stderr);
    assert.deepEqual(JSON.parse(sc.stdout).jobs.map((j: { labels: Record<string, string>; status: string }) => [j.labels.seed, j.status]), [['1', 'done'], ['5', 'pending']]);
    assert.ok(!fs.existsSync(path.join(runs, 'c')), 'status froze no plan');
  });

  it('a job that throws, exits non-zero, is SIGKILLed or has a NaN loss fails with its reason; the grid goes on; the next run resumes them', async () => {
    const plan = seedPlan('f', [1, 2, 3, 4, 5], 5);
    const file = writePlan(root, plan);
    const r = await runCli(['run', file, '-j', '2', '--runs-dir', runs], env({ ...VALIDATE, RLGRID_TEST_FAIL: '2:throw@2,3:exit@3,4:nan@3,5:kill@2' }));
    assert.equal(r.code, 1, r.stderr);
    const expected: [string, RegExp | null][] = [
      ['done', null],
      ['failed', /^test job: injected failure at step 2$/],
      ['failed', /exited with code 3/],
      ['failed', /^non-finite loss \(NaN\) at step 3$/],
      ['failed', /killed by signal SIGKILL/],
    ];
    const st = await runCli(['status', 'f', '--json'], env({ RLGRID_RUNS_DIR: runs }));
    assert.equal(st.code, 0, st.stderr);
    const sj = JSON.parse(st.stdout);
    assert.deepEqual(sj.counts, { pending: 0, running: 0, done: 1, failed: 4, interrupted: 0, corrupt: 0 });
    const jobs = sj.jobs as { status: string; reason: string | null; step: number; steps: number; labels: Record<string, string> }[];
    assert.deepEqual(jobs.map((j) => [j.labels.seed, j.step, j.steps]), [['1', 5, 5], ['2', 1, 5], ['3', 2, 5], ['4', 2, 5], ['5', 1, 5]]);
    jobs.forEach((j, i) => {
      assert.equal(j.status, expected[i][0], `seed ${i + 1}`);
      if (expected[i][1]) assert.match(j.reason ?? '', expected[i][1]!);
      const m = readManifest(jobDir(store, plan.jobs[i].id))!;
      assert.equal(m.status, expected[i][0]);
      assert.equal(m.reason, j.reason);
    });
    assert.match(r.stdout, /f: 1 done, 4 failed/);
    assertStoreSound(store, plan, { quiet: true });

    // without the faults, a second run resumes each failed job from its checkpoint
    const r2 = await runCli(['run', file, '-j', '2', '--runs-dir', runs], env());
    assert.equal(r2.code, 0, r2.stderr);
    const ex = executions(execLog).slice(5);
    assert.deepEqual(ex.map((e) => [e.seed, e.from_step]).sort(), [
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 1],
    ]);
    await assertMatchesReference(store, plan);
    for (const j of plan.jobs.slice(1)) {
      const m = readManifest(jobDir(store, j.id))!;
      assert.deepEqual([m.status, m.attempts, m.history.map((h) => h.status)], ['done', 2, ['failed', 'done']]);
    }
  });

  it('--fail-fast stops launching and interrupts the running job; --retries resumes a failed job', async () => {
    const plan: Plan = {
      ...seedPlan('ff', [1, 2, 3, 4], 300),
    };
    plan.jobs[0] = job(0, { seed: '1' }, { seed: 1, train: { steps: 40 } });
    const file = writePlan(root, plan);
    const r = await runCli(['run', file, '-j', '2', '--fail-fast', '--runs-dir', runs], env({ RLGRID_TEST_FAIL: '1:throw@30', RLGRID_TEST_STEP_MS: '5' }));
    assert.equal(r.code, 1, r.stderr);
    const recs = loadJobRecords(store, plan);
    assert.equal(recs[0].status, 'failed');
    // the second job was running (or, on a slow machine, still starting) when the first failed: stopped, not finished
    assert.ok(['interrupted', 'pending'].includes(recs[1].status), recs[1].status);
    assert.ok(recs[1].step! < 300);
    if (recs[1].status === 'interrupted') assert.match(recs[1].reason!, /stopped by SIGTERM/);
    assert.deepEqual(recs.slice(2).map((x) => x.status), ['pending', 'pending']);
    assert.deepEqual(executions(execLog).filter((e) => e.seed > 2), [], 'nothing launched after the failure');
    assert.match(r.stdout, /stopped by --fail-fast/);
    assert.equal(r.stdout.match(/pending \(not started\)/g)?.length, 2, r.stdout);
    assertStoreSound(store, plan, { quiet: true });

    const one = seedPlan('rt', [7], 6);
    const r2 = await runCli(['run', writePlan(root, one), '--retries', '1', '--runs-dir', runs], env({ RLGRID_TEST_FAIL: '7:throw-once@4' }));
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /retry .*\(0 left\): test job: injected one-time failure at step 4/);
    const m = readManifest(jobDir(store, one.jobs[0].id))!;
    assert.deepEqual([m.status, m.attempts, m.history.map((h) => h.status)], ['done', 2, ['failed', 'done']]);
    assert.deepEqual(executions(execLog).filter((e) => e.seed === 7).map((e) => e.from_step), [0, 3]);
    await assertMatchesReference(store, one);
  });

  it('two concurrent runs of one grid execute each job once', async () => {
    const plan = seedPlan('c', [1, 2, 3], 20);
    const file = writePlan(root, plan);
    const e = env({ RLGRID_TEST_STEP_MS: '5' });
    const [r1, r2] = await Promise.all([runCli(['run', file, '-j', '2', '--runs-dir', runs], e), runCli(['run', file, '-j', '2', '--runs-dir', runs], e)]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const ex = executions(execLog);
    assert.deepEqual(ex.map((x) => x.seed).sort(), [1, 2, 3], JSON.stringify(ex));
    // the runs did meet: one waited for a job the other held, or lost the race for a job's lock
    const logs = plan.jobs.map((j) => fs.readFileSync(path.join(jobDir(store, j.id), 'log.txt'), 'utf8')).join('');
    assert.ok(/waiting /.test(r1.stderr + r2.stderr) || /is being run by pid/.test(logs), 'the two runs never contended for a job');
    assert.ok(ex.every((x) => x.from_step === 0));
    assert.deepEqual(loadJobRecords(store, plan).map((x) => [x.status, x.attempts]), plan.jobs.map(() => ['done', 1]));
    await assertMatchesReference(store, plan);
    assertStoreSound(store, plan, { quiet: true });
  });

  it('kill -9 at seeded random moments (whole process group or the parent alone): the next run recovers every job byte for byte', async () => {
    const plan = seedPlan('k', [1, 2, 3], 30);
    const file = writePlan(root, plan);
    const total = 30 * 3;
    const rng = Rng.seeded(20240611);
    const e = env({ ...VALIDATE, RLGRID_TEST_STEP_MS: '4' });
    for (let round = 0; round < 3; round++) {
      const progress = metricLines(store, plan);
      // a moment: after k more metric lines (0 = while it is still planning and starting workers)
      const k = round === 0 ? 0 : rng.int(1, Math.max(1, Math.floor((total - progress) / 2)));
      const group = round !== 1;
      const child = startCli(['run', file, '-j', '2', '--runs-dir', runs], e, { detached: true });
      const done = waitCli(child);
      if (k === 0) await sleep(rng.int(50, 400));
      else await until(`${k} more metric lines`, () => metricLines(store, plan) >= progress + k || child.exitCode !== null);
      if (group) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
      const r = await done;
      assert.equal(r.signal, 'SIGKILL', `round ${round}: the run ended before the kill (${r.stdout})`);
      assertStoreSound(store, plan); // readable in every state, even mid-flight
    }
    const r = await runCli(['run', file, '-j', '2', '--runs-dir', runs], env());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(loadJobRecords(store, plan).map((x) => x.status), ['done', 'done', 'done']);
    await assertMatchesReference(store, plan);
    assertStoreSound(store, plan, { quiet: true });
    // every start of a job resumed where the one before had checkpointed: never from a later step than reached
    for (const j of plan.jobs) {
      const starts = executions(execLog).filter((x) => x.id === j.id).map((x) => x.from_step);
      assert.deepEqual([...starts].sort((p, q) => p - q), starts, `job ${j.id} went backwards: ${starts}`);
    }
  });

  it('workers of a run killed with -9 stop by themselves at a step boundary (interrupted), leaving no lock', async () => {
    const plan = seedPlan('o', [1, 2], 200);
    const file = writePlan(root, plan);
    const child = startCli(['run', file, '-j', '2', '--runs-dir', runs], env({ RLGRID_TEST_STEP_MS: '15' }));
    const done = waitCli(child);
    await until('both jobs making progress', () => plan.jobs.every((j) => fs.existsSync(path.join(jobDir(store, j.id), 'checkpoints'))));
    child.kill('SIGKILL');
    await done;
    await until('the orphaned workers to stop', () => plan.jobs.every((j) => !fs.existsSync(path.join(jobDir(store, j.id), 'job.lock'))));
    for (const r of loadJobRecords(store, plan)) {
      assert.equal(r.status, 'interrupted');
      assert.match(r.reason!, /stopped by the exit of its rlgrid run \(pid \d+\)/);
      assert.ok(r.step! < 200);
    }
    assertStoreSound(store, plan, { quiet: true });
  });

  it('Ctrl-C forwards SIGINT, records interrupted jobs with it, prints the summary and exits 130; the next run resumes', async () => {
    const plan = seedPlan('i', [1, 2, 3], 60);
    const file = writePlan(root, plan);
    const child = startCli(['run', file, '-j', '2', '--runs-dir', runs], env({ RLGRID_TEST_STEP_MS: '50' }));
    const done = waitCli(child);
    await until('two jobs making progress', () => plan.jobs.filter((j) => fs.existsSync(path.join(jobDir(store, j.id), 'checkpoints'))).length >= 2);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /2 interrupted, 1 not started \(stopped by signal; run again to resume\)/);
    const recs = loadJobRecords(store, plan);
    assert.deepEqual(recs.map((x) => x.status), ['interrupted', 'interrupted', 'pending']);
    assert.match(recs[0].reason!, /stopped by SIGINT/);
    assert.ok(recs[0].step! > 0 && recs[0].step! < 60);
    assertStoreSound(store, plan, { quiet: true });

    const r2 = await runCli(['run', file, '-j', '2', '--runs-dir', runs], env({ RLGRID_TEST_STEP_MS: '0' }));
    assert.equal(r2.code, 0, r2.stderr);
    await assertMatchesReference(store, plan);
  });

  it('a corrupt plan.json, manifest.json or metrics.jsonl: exit 2 naming the file, no stack trace, nothing changed', async () => {
    const plan = seedPlan('z', [1, 2], 3);
    const file = writePlan(root, plan);
    freezePlan(store, plan);
    const [d1, d2] = plan.jobs.map((j) => jobDir(store, j.id));
    writeManifest(d2, { ...readManifest(d2)!, status: 'done' });
    fs.writeFileSync(path.join(d2, 'metrics.jsonl'), '{"step":1}\n{"step":2}\n{"step":3,"x"'); // torn tail: fine
    const noTrace = (s: string): void => assert.doesNotMatch(s, /internal error|\n\s+at /);

    const manifest = path.join(d1, 'manifest.json');
    fs.writeFileSync(manifest, '{"format": 1, "id": "x", "sta');
    const r = await runCli(['run', file, '--runs-dir', runs], env());
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`error: ${manifest}: corrupt JSON`), r.stderr);
    noTrace(r.stderr);
    assert.equal(fs.readFileSync(manifest, 'utf8'), '{"format": 1, "id": "x", "sta');
    assert.deepEqual(executions(execLog), []);

    fs.rmSync(manifest);
    const metrics = path.join(d1, 'metrics.jsonl');
    fs.writeFileSync(metrics, '{"step":1}\nnot json\n{"step":3}\n');
    const s = await runCli(['status', 'z', '--runs-dir', runs], env());
    assert.equal(s.code, 2);
    assert.ok(s.stderr.includes(`error: ${metrics}:2: corrupt JSONL line`), s.stderr);
    noTrace(s.stderr);
    assert.equal(fs.readFileSync(metrics, 'utf8'), '{"step":1}\nnot json\n{"step":3}\n');

    const planJson = path.join(runs, 'z', 'plan.json');
    fs.truncateSync(planJson, 40);
    const before = fs.readFileSync(planJson);
    const l = await runCli(['ls', '--runs-dir', runs], env());
    assert.equal(l.code, 2);
    assert.ok(l.stderr.includes(`error: ${planJson}: corrupt JSON`), l.stderr);
    noTrace(l.stderr);
    assert.deepEqual(fs.readFileSync(planJson), before);
  });

  it('status flags jobs done with other code as stale; --rerun-stale moves old results to previous/<n>/ and re-runs them', async () => {
    const plan = seedPlan('s', [1], 4);
    const file = writePlan(root, plan);
    const r = await runCli(['run', file, '--runs-dir', runs], env({ RLGRID_CODE_VERSION: CODE_A }));
    assert.equal(r.code, 0, r.stderr);
    const before = resultFiles(jobDir(store, plan.jobs[0].id));

    const st = await runCli(['status', 's', '--runs-dir', runs], env({ RLGRID_CODE_VERSION: CODE_B }));
    assert.equal(st.code, 0, st.stderr);
    assert.equal(st.stdout.match(/│ done +│ 4\/4 +│ stale +│/g)?.length, 1, st.stdout);
    assert.match(st.stdout, /1 stale \(rlgrid run --rerun-stale\)/);

    const r2 = await runCli(['run', file, '--rerun-stale', '--runs-dir', runs], env({ ...VALIDATE, RLGRID_CODE_VERSION: CODE_B }));
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(executions(execLog).length, 2);
    for (const j of plan.jobs) {
      const dir = jobDir(store, j.id);
      const m = readManifest(dir)!;
      assert.deepEqual([m.status, m.attempts, m.previous_runs, m.code.commit], ['done', 1, 1, 'b'.repeat(40)]);
      const old = readManifest(path.join(dir, 'previous', '1'))!;
      assert.deepEqual([old.status, old.code.commit], ['done', 'a'.repeat(40)]);
      assert.ok(fs.existsSync(path.join(dir, 'previous', '1', 'checkpoints', 'last', 'state.json')));
    }
    assert.deepEqual(resultFiles(path.join(jobDir(store, plan.jobs[0].id), 'previous', '1')), before);
    await assertMatchesReference(store, plan);
    assert.deepEqual(loadJobRecords(store, plan, { code: JSON.parse(CODE_B) }).map((x) => x.stale), [false]);
    assertStoreSound(store, plan, { quiet: true });
  });
});
