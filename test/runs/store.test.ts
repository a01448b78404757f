import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  checkJobFiles,
  ensureJobDir,
  freezePlan,
  gridPlan,
  jobDir,
  jobLockFile,
  lastStep,
  listGrids,
  loadJobRecords,
  moveResultsAside,
  openStore,
  recoverMoveAside,
} from '../../src/runs/store.ts';
import { newManifest, readManifest, setManifestValidator, writeManifest, type CodeVersion } from '../../src/runs/manifest.ts';
import { enableManifestValidation, manifestSchemaErrors } from '../../src/runs/schema.ts';
import { tryLock } from '../../src/runs/lock.ts';
import { selectJobs } from '../../src/runs/select.ts';
import { canonicalJson, shortId } from '../../src/util/canonical.ts';
import { UserError } from '../../src/util/errors.ts';
import { seedPlan, tmpDir } from '../exec/fixtures.ts';

const CODE_A: CodeVersion = { commit: 'a'.repeat(40), dirty: false, diff_hash: null };
const CODE_B: CodeVersion = { commit: 'b'.repeat(40), dirty: false, diff_hash: null };

function userError(fn: () => unknown, re: RegExp): UserError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, re);
    return e;
  }
  assert.fail('expected a UserError');
}

describe('runs/store', () => {
  let root: string;
  beforeEach(() => {
    root = tmpDir();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('freezes a plan: plan.json, content-addressed job dirs with canonical config and a valid pending manifest, links', () => {
    const store = openStore(root);
    const plan = seedPlan('g', [1, 2]);
    const r = freezePlan(store, plan);
    assert.equal(r.changed, true);
    assert.equal(r.previous, null);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, 'g', 'plan.json'), 'utf8')), plan);
    for (const job of plan.jobs) {
      const dir = jobDir(store, job.id);
      assert.equal(dir, path.join(root, 'jobs', job.id));
      assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), canonicalJson(job.config) + '\n');
      assert.equal(job.id, shortId(job.config));
      const m = readManifest(dir)!;
      assert.equal(m.status, 'pending');
      assert.equal(m.seed, job.config.seed);
      assert.deepEqual(manifestSchemaErrors(m), []);
      assert.equal(fs.realpathSync(path.join(root, 'g', job.id)), fs.realpathSync(dir));
    }
    assert.deepEqual(listGrids(store), ['g']);
    assert.deepEqual(gridPlan(store, 'g'), plan);
  });

  it('shares the directory of identical jobs across grids and keeps an earlier plan as plan.<hash>.json', () => {
    const store = openStore(root);
    const a = seedPlan('a', [1, 2]);
    const b = seedPlan('b', [2, 3]);
    freezePlan(store, a);
    const dirA2 = jobDir(store, a.jobs[1].id);
    writeManifest(dirA2, { ...readManifest(dirA2)!, status: 'done' });
    freezePlan(store, b);
    assert.equal(b.jobs[0].id, a.jobs[1].id);
    assert.equal(readManifest(jobDir(store, b.jobs[0].id))!.status, 'done', 'freezing another grid keeps finished work');
    assert.equal(fs.readdirSync(path.join(root, 'jobs')).length, 3);
    assert.deepEqual(listGrids(store), ['a', 'b']);

    assert.equal(freezePlan(store, a).changed, false, 'same plan: nothing rewritten');
    const a2 = seedPlan('a', [1, 2, 4], 6, 'h2');
    const r = freezePlan(store, a2);
    assert.ok(r.previous && r.changed);
    assert.equal(path.basename(r.previous), `plan.${shortId(a)}.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(r.previous, 'utf8')), a);
    assert.deepEqual(gridPlan(store, 'a'), a2);
    assert.deepEqual(listGrids(store), ['a', 'b']);
  });

  it('rejects grid names that cannot be directories, and a job whose config.json was changed', () => {
    const store = openStore(root);
    userError(() => freezePlan(store, seedPlan('jobs', [1])), /cannot name a run directory/);
    userError(() => freezePlan(store, seedPlan('../x', [1])), /cannot name a run directory/);
    const plan = seedPlan('g', [1]);
    freezePlan(store, plan);
    const cfg = path.join(jobDir(store, plan.jobs[0].id), 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ ...plan.jobs[0].config, seed: 99 }));
    const e = userError(() => ensureJobDir(store, plan.jobs[0]), /differs from the planned config/);
    assert.equal(e.diagnostics[0].file, cfg);
  });

  it('names the file of a missing grid, a corrupt plan.json or manifest.json, and changes nothing', () => {
    const store = openStore(root);
    freezePlan(store, seedPlan('g', [1]));
    userError(() => gridPlan(store, 'nope'), /no grid "nope".*grids: g/);
    const planJson = path.join(root, 'g', 'plan.json');
    fs.writeFileSync(planJson, '{"version": 1, "grid": {"na');
    const e = userError(() => gridPlan(store, 'g'), /corrupt JSON/);
    assert.equal(e.diagnostics[0].file, planJson);
    userError(() => freezePlan(store, seedPlan('g', [1])), /plan\.json: corrupt JSON/);
    assert.equal(fs.readFileSync(planJson, 'utf8'), '{"version": 1, "grid": {"na');
    fs.writeFileSync(planJson, '[1, 2]');
    userError(() => gridPlan(store, 'g'), /plan\.json: not a valid plan/);

    const dir = jobDir(store, seedPlan('g', [1]).jobs[0].id);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": 1, "status": "runn');
    userError(() => readManifest(dir), /manifest\.json: corrupt JSON/);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": 1, "status": "sleeping"}');
    userError(() => readManifest(dir), /manifest\.json: not a valid manifest/);
  });

  it('checkJobFiles accepts a torn last metrics line and names a corrupt one with its line', () => {
    const store = openStore(root);
    const plan = seedPlan('g', [1, 2]);
    freezePlan(store, plan);
    const [d1, d2] = plan.jobs.map((j) => jobDir(store, j.id));
    fs.writeFileSync(path.join(d1, 'metrics.jsonl'), '{"step":1}\n{"step":2}\n{"st');
    checkJobFiles(store, plan.jobs);
    assert.equal(lastStep(d1), 2);
    fs.writeFileSync(path.join(d2, 'metrics.jsonl'), '{"step":1}\n{"st\n{"step":3}\n');
    fs.writeFileSync(path.join(d1, 'manifest.json'), '');
    const e = userError(() => checkJobFiles(store, plan.jobs), /corrupt/);
    assert.deepEqual(
      e.diagnostics.map((d) => [path.relative(root, d.file!), d.line]),
      [
        [path.join('jobs', plan.jobs[0].id, 'manifest.json'), undefined],
        [path.join('jobs', plan.jobs[1].id, 'metrics.jsonl'), 2],
      ],
    );
  });

  it('loadJobRecords: a running manifest without a live lock holder reads as interrupted; staleness by code version', () => {
    const store = openStore(root);
    const plan = seedPlan('g', [1, 2, 3]);
    freezePlan(store, plan);
    const [d1, d2, d3] = plan.jobs.map((j) => jobDir(store, j.id));
    // d1: running, its runner gone (a pid that has exited)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeManifest(d1, { ...readManifest(d1)!, status: 'running', runner: { pid: dead, host: 'x' } });
    // d2: running and its lock held by a live process (this one)
    writeManifest(d2, { ...readManifest(d2)!, status: 'running', runner: { pid: process.pid, host: 'x' } });
    const lock = tryLock(jobLockFile(d2));
    assert.ok(lock.ok);
    // d3: done with code A
    writeManifest(d3, { ...readManifest(d3)!, status: 'done', code: CODE_A });
    // (all of a done job's files: readers check them, test/runs/integrity.test.ts)
    fs.writeFileSync(path.join(d3, 'metrics.jsonl'), [1, 2, 3, 4, 5, 6].map((s) => `{"step":${s}}\n`).join(''));
    for (const f of ['eval.jsonl', 'result.json']) fs.writeFileSync(path.join(d3, f), '{}\n');
    try {
      const recs = loadJobRecords(store, plan, { code: CODE_A });
      assert.deepEqual(
        recs.map((r) => [r.status, r.stale, r.step]),
        [
          ['interrupted', false, 0],
          ['running', false, 0],
          ['done', false, 6],
        ],
      );
      assert.match(recs[0].reason!, /runner died/);
      assert.deepEqual(recs[2].labels, { seed: '3' });
      assert.equal(loadJobRecords(store, plan, { code: CODE_B })[2].stale, true);
      assert.equal(loadJobRecords(store, plan, { code: { ...CODE_A, dirty: true, diff_hash: 'f'.repeat(64) } })[2].stale, true);
      assert.equal(loadJobRecords(store, plan)[2].stale, null, 'no current code given: unknown');
      assert.equal(loadJobRecords(store, plan, { metrics: false })[2].step, null);
    } finally {
      lock.ok && lock.handle.release();
    }
    // a job of the plan without a directory yet is pending
    fs.rmSync(d3, { recursive: true });
    assert.equal(loadJobRecords(store, plan)[2].status, 'pending');
  });

  it('moves results aside to previous/<n>/ (crash-safe) and never mixes them', () => {
    const store = openStore(root);
    const plan = seedPlan('g', [1]);
    freezePlan(store, plan);
    const dir = jobDir(store, plan.jobs[0].id);
    const fill = (tag: string): void => {
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), `{"step":1,"tag":"${tag}"}\n`);
      fs.mkdirSync(path.join(dir, 'checkpoints', 'last'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'checkpoints', 'last', 'state.json'), tag);
      fs.writeFileSync(path.join(dir, 'subset.json'), `{"tag":"${tag}"}`);
      fs.mkdirSync(path.join(dir, 'eval-responses'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'eval-responses', '0.jsonl.gz'), tag);
      fs.writeFileSync(path.join(dir, 'log.txt'), 'log\n');
      writeManifest(dir, { ...readManifest(dir)!, status: 'done', attempts: 2, code: CODE_A });
    };
    fill('one');
    assert.equal(moveResultsAside(dir), 1);
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '1', 'metrics.jsonl'), 'utf8'), '{"step":1,"tag":"one"}\n');
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '1', 'checkpoints', 'last', 'state.json'), 'utf8'), 'one');
    assert.equal(readManifest(path.join(dir, 'previous', '1'))!.attempts, 2);
    assert.ok(!fs.existsSync(path.join(dir, 'metrics.jsonl')) && !fs.existsSync(path.join(dir, 'checkpoints')));
    // every result of the run goes with it: the subset it trained on and its kept responses too
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '1', 'subset.json'), 'utf8'), '{"tag":"one"}');
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '1', 'eval-responses', '0.jsonl.gz'), 'utf8'), 'one');
    assert.ok(!fs.existsSync(path.join(dir, 'subset.json')) && !fs.existsSync(path.join(dir, 'eval-responses')));
    assert.ok(fs.existsSync(path.join(dir, 'config.json')), 'config.json (the job) stays');
    assert.ok(fs.existsSync(path.join(dir, 'log.txt')), 'log.txt stays');
    const m = readManifest(dir)!;
    assert.deepEqual([m.status, m.attempts, m.previous_runs], ['pending', 0, 1]);

    // a move cut short after the manifest was reset is completed by recoverMoveAside
    fill('two');
    const pending = path.join(dir, 'previous', '.pending');
    fs.mkdirSync(pending, { recursive: true });
    fs.copyFileSync(path.join(dir, 'manifest.json'), path.join(pending, 'manifest.json'));
    writeManifest(dir, { ...readManifest(dir)!, status: 'pending', attempts: 0 });
    fs.renameSync(path.join(dir, 'metrics.jsonl'), path.join(pending, 'metrics.jsonl'));
    assert.equal(recoverMoveAside(dir), 2);
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '2', 'metrics.jsonl'), 'utf8'), '{"step":1,"tag":"two"}\n');
    assert.equal(fs.readFileSync(path.join(dir, 'previous', '2', 'checkpoints', 'last', 'state.json'), 'utf8'), 'two');
    // ...and one cut short before (manifest still done) is dropped: only the manifest copy was staged
    fill('three');
    fs.mkdirSync(pending);
    fs.copyFileSync(path.join(dir, 'manifest.json'), path.join(pending, 'manifest.json'));
    assert.equal(recoverMoveAside(dir), null);
    assert.ok(!fs.existsSync(pending));
    assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), '{"step":1,"tag":"three"}\n');
  });

  it('every manifest the store writes matches the schema, and the schema rejects a wrong one', () => {
    const m = newManifest('abcdef123456', 3);
    assert.deepEqual(manifestSchemaErrors(m), []);
    enableManifestValidation();
    try {
      writeManifest(root, m);
      assert.throws(() => writeManifest(root, { ...m, attempts: -1 }), /manifest does not match schema\/manifest\.schema\.json: \/attempts/);
      assert.equal(readManifest(root)!.attempts, 0, 'the invalid manifest was not written');
    } finally {
      setManifestValidator(null);
    }
    assert.notDeepEqual(manifestSchemaErrors({ ...m, status: 'sleeping' }), []);
    assert.notDeepEqual(manifestSchemaErrors({ ...m, extra: 1 }), []);
    assert.notDeepEqual(manifestSchemaErrors({ ...m, runner: { pid: 0, host: 'h' } }), []);
  });
});

describe('runs/select (--only)', () => {
  const plan = {
    ...seedPlan('g', [1, 2, 3]),
    axes: ['seed', 'method'],
  };
  plan.jobs = plan.jobs.map((j, i) => ({ ...j, labels: { ...j.labels, method: i === 0 ? 'GRPO' : 'Clip-Higher' } }));

  it('same axis twice is either label; different axes must all match', () => {
    assert.deepEqual(selectJobs(plan, []).length, 3);
    assert.deepEqual(selectJobs(plan, ['seed=1', 'seed=3']).map((j) => j.labels.seed), ['1', '3']);
    assert.deepEqual(selectJobs(plan, ['seed=2', 'method=Clip-Higher']).map((j) => j.labels.seed), ['2']);
  });

  it('names an unknown axis or label, and an empty selection', () => {
    assert.throws(() => selectJobs(plan, ['lr=1']), /no axis "lr" \(axes: seed, method\)/);
    assert.throws(() => selectJobs(plan, ['seed=9']), /no job has seed=9 \(labels: 1, 2, 3\)/);
    assert.throws(() => selectJobs(plan, ['seed']), /expected axis=label/);
    assert.throws(() => selectJobs(plan, ['seed=1', 'method=Clip-Higher']), /no job of grid g matches/);
  });

  it('a merged duplicate label picks the job it merged into', () => {
    // two rows whose resolved configs are equal: one job, two label sets
    const dup = { ...plan, duplicates: [{ id: plan.jobs[2].id, labels: { seed: '3', method: 'DAPO' } }] };
    assert.deepEqual(selectJobs(dup, ['method=DAPO']).map((j) => j.id), [plan.jobs[2].id]);
    assert.deepEqual(selectJobs(dup, ['method=DAPO', 'method=GRPO']).map((j) => j.labels.seed), ['1', '3']);
    assert.throws(() => selectJobs(plan, ['method=DAPO']), /no job has method=DAPO/);
  });

  it('hints at axis=label when the label itself holds "="', () => {
    const lr = { ...plan, axes: ['seed', 'lr'], jobs: plan.jobs.map((j) => ({ ...j, labels: { seed: j.labels.seed, lr: 'lr=1e-3' } })) };
    assert.throws(() => selectJobs(lr, ['lr=1e-3']), /the label "lr=1e-3" is selected with --only "lr=lr=1e-3"/);
    assert.equal(selectJobs(lr, ['lr=lr=1e-3']).length, 3);
  });
});
