// Readers do not take a job's word for it: metrics.jsonl must log steps 1..n
// in order (two writers on one job interleave them) and a done job must have
// every file of its format. `status`, `table`, `check` and `reproduce` report
// such a job as `corrupt` with the file and line, never as done.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { integrityProblem, jobDir, openStore } from '../../src/runs/store.ts';
import { runCli, testEnv, tmpDir } from '../exec/fixtures.ts';

describe('runs/integrity: corrupt jobs', function () {
  this.timeout(60_000);
  let root: string;
  before(() => {
    root = tmpDir();
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('integrityProblem: steps 1..n in order, once each; a done job has config, manifest, metrics, eval, result and every step', () => {
    const d = path.join(root, 'unit');
    fs.mkdirSync(d);
    const write = (steps: number[]): void => fs.writeFileSync(path.join(d, 'metrics.jsonl'), steps.map((s) => JSON.stringify({ step: s, x: 1 }) + '\n').join(''));
    write([1, 2, 3]);
    assert.equal(integrityProblem(d, 'interrupted', 5), null);
    fs.appendFileSync(path.join(d, 'metrics.jsonl'), '{"step": 4, "x"'); // torn last line: a crash, not corruption
    assert.equal(integrityProblem(d, 'interrupted', 5), null);
    write([1, 2, 4, 3]);
    assert.match(integrityProblem(d, 'interrupted', 5)!, /metrics\.jsonl:3: step 4 where step 3 belongs/);
    write([1, 2, 1, 2, 3]); // a second writer from the start
    assert.match(integrityProblem(d, 'running', 5)!, /metrics\.jsonl:3: step 1 where step 3 belongs/);
    write([1, 2, 3, 4, 5]);
    for (const f of ['config.json', 'manifest.json', 'eval.jsonl']) fs.writeFileSync(path.join(d, f), '{}\n');
    assert.match(integrityProblem(d, 'done', 5)!, /result\.json: missing, and the job says it is done/);
    fs.writeFileSync(path.join(d, 'result.json'), '{}\n');
    assert.equal(integrityProblem(d, 'done', 5), null);
    assert.match(integrityProblem(d, 'done', 6)!, /metrics\.jsonl: 5 steps logged of 6/);
  });

  it('status, table, check and reproduce name a corrupt job with file and line and never count it as done', async () => {
    const grid = path.join(root, 'g.yaml');
    fs.writeFileSync(
      grid,
      'version: 1\nname: g\nbase: {train: {steps: 6}, eval: {every: 3}}\naxes: {seed: [1, 2, 3]}\n' +
        'claims:\n  - {name: c, metric: final.entropy, expect: {within: [-1000, 1000], of: {seed: 1}}}\n',
    );
    const runs = path.join(root, 'runs');
    const env = testEnv();
    const r0 = await runCli(['run', grid, '--runs-dir', runs, '--no-check'], env);
    assert.equal(r0.code, 0, r0.stdout + r0.stderr);
    const st0 = JSON.parse((await runCli(['status', 'g', '--runs-dir', runs, '--json'], env)).stdout) as { jobs: { id: string; labels: Record<string, string>; status: string; reason: string | null }[] };
    const id = (seed: string): string => st0.jobs.find((j) => j.labels.seed === seed)!.id;
    const store = openStore(runs);
    // seed 1: two writers interleaved its metrics; seed 2: eval.jsonl lost; seed 3 intact
    const m1 = path.join(jobDir(store, id('1')), 'metrics.jsonl');
    const lines = fs.readFileSync(m1, 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(m1, [lines[0], lines[1], lines[0], ...lines.slice(1)].join('\n') + '\n');
    fs.rmSync(path.join(jobDir(store, id('2')), 'eval.jsonl'));

    const st = await runCli(['status', 'g', '--runs-dir', runs, '--json'], env);
    assert.equal(st.code, 0, st.stderr);
    const jobs = (JSON.parse(st.stdout) as typeof st0).jobs;
    const by = (seed: string) => jobs.find((j) => j.labels.seed === seed)!;
    assert.equal(by('1').status, 'corrupt');
    assert.match(by('1').reason!, new RegExp(`${id('1')}/metrics\\.jsonl:3: step 1 where step 3 belongs`));
    assert.equal(by('2').status, 'corrupt');
    assert.match(by('2').reason!, /eval\.jsonl: missing, and the job says it is done/);
    assert.equal(by('3').status, 'done');
    const text = await runCli(['status', 'g', '--runs-dir', runs], env);
    assert.match(text.stdout, /3 jobs: 1 done, 2 corrupt/);

    const table = await runCli(['table', 'g', '--runs-dir', runs], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stderr, new RegExp(`job ${id('1')} is corrupt \\(not counted as done\\): .*metrics\\.jsonl:3`));
    assert.match(table.stdout, /corrupt 2/);

    const check = await runCli(['check', 'g', '--runs-dir', runs], env);
    assert.match(check.stderr, new RegExp(`job ${id('2')} is corrupt .*eval\\.jsonl: missing`));
    assert.doesNotMatch(check.stdout, /\bholds\b/);

    // run refuses to resume on them: exit 2 naming the file and line, nothing changed
    const before = fs.readFileSync(m1);
    const run = await runCli(['run', grid, '--runs-dir', runs, '--no-check'], env);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /metrics\.jsonl:3: step 1 where step 3 belongs .*\(the job is corrupt: move its directory aside to run it from scratch\)/);
    assert.match(run.stderr, /eval\.jsonl: missing, and the job says it is done/);
    assert.deepEqual(fs.readFileSync(m1), before);

    const rep = await runCli(['reproduce', 'g:seed=1', '--runs-dir', runs], env);
    assert.equal(rep.code, 2, rep.stdout + rep.stderr);
    assert.match(rep.stderr, /is corrupt: .*metrics\.jsonl:3: step 1 where step 3 belongs .*; nothing to compare/);
    assert.doesNotMatch(rep.stderr, /\n\s+at /);
  });
});
