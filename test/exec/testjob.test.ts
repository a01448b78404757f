import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseFaults } from '../../src/exec/testjob.ts';
import { job, runTestJob, tmpDir } from './fixtures.ts';

const read = (dir: string): Record<string, string> =>
  Object.fromEntries(['metrics.jsonl', 'eval.jsonl', 'result.json'].map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));

describe('exec/testjob (test-only runner)', () => {
  const saved = { ...process.env };
  let root: string;
  beforeEach(() => {
    root = tmpDir();
    process.env.RLGRID_TEST_STEP_MS = '0';
    delete process.env.RLGRID_TEST_FAIL;
    delete process.env.RLGRID_TEST_EXEC_LOG;
  });
  afterEach(() => {
    process.env = { ...saved };
    fs.rmSync(root, { recursive: true, force: true });
  });
  const cfg = job(0, {}, { seed: 5, train: { steps: 7 }, eval: { every: 3 } }).config;
  const dirOf = (name: string): string => {
    const d = path.join(root, name);
    fs.mkdirSync(d);
    return d;
  };

  it('writes one metrics line per step, evals at 0, every k and the end, and a result; seeded and deterministic', async () => {
    const a = dirOf('a');
    const b = dirOf('b');
    assert.equal(await runTestJob(a, cfg), 'done');
    assert.equal(await runTestJob(b, cfg), 'done');
    assert.deepEqual(read(a), read(b));
    const metrics = fs.readFileSync(path.join(a, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6, 7]);
    const evals = fs.readFileSync(path.join(a, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(evals, [0, 3, 6, 7]);
    const other = dirOf('c');
    await runTestJob(other, { ...cfg, seed: 6 });
    assert.notEqual(read(other)['metrics.jsonl'], read(a)['metrics.jsonl'], 'another seed, other numbers');
  });

  it('stops at a step boundary and resumes to the same bytes, also after a torn line and metrics ahead of the checkpoint', async () => {
    const ref = dirOf('ref');
    await runTestJob(ref, cfg);
    const d = dirOf('d');
    assert.equal(await runTestJob(d, cfg, 3), 'interrupted');
    assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'checkpoints', 'last', 'state.json'), 'utf8')).step, 3);
    assert.ok(!fs.existsSync(path.join(d, 'result.json')));
    // a crash after the metrics append but before the checkpoint, then a torn append
    fs.appendFileSync(path.join(d, 'metrics.jsonl'), '{"step":4,"actor/entropy":123}\n{"step":5,"act');
    assert.equal(await runTestJob(d, cfg, 1), 'interrupted');
    assert.equal(await runTestJob(d, cfg), 'done');
    assert.deepEqual(read(d), read(ref));
  });

  it('counts its starts in RLGRID_TEST_EXEC_LOG', async () => {
    const log = path.join(root, 'exec.jsonl');
    process.env.RLGRID_TEST_EXEC_LOG = log;
    const d = dirOf('d');
    await runTestJob(d, cfg, 2);
    await runTestJob(d, cfg);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.id, l.seed, l.from_step]), [
      ['d', 5, 0],
      ['d', 5, 2],
    ]);
  });

  it('injects faults by seed: throw, throw-once, NaN loss', async () => {
    process.env.RLGRID_TEST_FAIL = '5:throw@3,6:nan@2,7:throw-once@4';
    const d = dirOf('d');
    await assert.rejects(runTestJob(d, cfg), /injected failure at step 3/);
    assert.equal(fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    await assert.rejects(runTestJob(dirOf('e'), { ...cfg, seed: 6 }), /non-finite loss \(NaN\) at step 2/);
    const f = dirOf('f');
    await assert.rejects(runTestJob(f, { ...cfg, seed: 7 }), /one-time failure at step 4/);
    assert.equal(await runTestJob(f, { ...cfg, seed: 7 }), 'done');
    const ref = dirOf('ref');
    delete process.env.RLGRID_TEST_FAIL;
    await runTestJob(ref, { ...cfg, seed: 7 });
    assert.deepEqual(read(f), read(ref), 'a retried job resumes to the uninterrupted bytes');
  });

  it('rejects a malformed fault spec', () => {
    assert.deepEqual(parseFaults('1:exit@2, 3:kill@1'), [
      { seed: 1, kind: 'exit', step: 2 },
      { seed: 3, kind: 'kill', step: 1 },
    ]);
    assert.throws(() => parseFaults('1:explode@2'), /bad fault "1:explode@2"/);
    assert.throws(() => parseFaults('x'), /SEED:KIND@STEP/);
  });
});
