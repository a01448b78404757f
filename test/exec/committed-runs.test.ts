// results/ is a runs directory committed to git without what only a running
// or resuming job needs (.gitignore: checkpoints, sampled responses, locks,
// subset.json).
// A clone of it must keep every done job done, and `rlgrid run` into it must
// run only the jobs that are not: that is how a long grid goes on in pieces.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gridPlan, jobDir, openStore } from '../../src/runs/store.ts';
import { executions, listFiles, resultFiles, ROOT, runCli, testEnv, tmpDir } from './fixtures.ts';

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('results/: runs committed to git', function () {
  this.timeout(60_000);
  let root: string;
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a clone keeps the done jobs done without their checkpoints; run executes only the rest', async () => {
    root = tmpDir();
    const repo = path.join(root, 'repo');
    fs.mkdirSync(repo);
    fs.copyFileSync(path.join(ROOT, '.gitignore'), path.join(repo, '.gitignore'));
    const grid = path.join(repo, 'g.yaml');
    fs.writeFileSync(grid, 'version: 1\nname: g\nbase: {train: {steps: 5}, eval: {every: 2}}\naxes: {seed: [1, 2, 3]}\n');
    const execLog = path.join(root, 'executions.jsonl');
    const env = testEnv({ RLGRID_TEST_EXEC_LOG: execLog });

    const first = await runCli(['run', grid, '--jobs', '2', '--only', 'seed=1', '--only', 'seed=2', '--runs-dir', path.join(repo, 'results')], env);
    assert.equal(first.code, 0, first.stderr);
    const store = openStore(path.join(repo, 'results'));
    const [one, two] = gridPlan(store, 'g').jobs;
    assert.ok(fs.existsSync(path.join(jobDir(store, one.id), 'checkpoints')), 'the test job writes checkpoints, so the ignore rule is exercised');
    const before = resultFiles(jobDir(store, one.id));
    fs.writeFileSync(path.join(jobDir(store, one.id), 'subset.json'), '{}'); // the trainer writes one (the test runner does not)

    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'results');
    const clone = path.join(root, 'clone');
    git(root, 'clone', '-q', repo, clone);
    const cloned = openStore(path.join(clone, 'results'));
    const files = listFiles(jobDir(cloned, one.id));
    assert.deepEqual(files, ['config.json', 'eval.jsonl', 'log.txt', 'manifest.json', 'metrics.jsonl', 'result.json']);
    assert.ok(fs.lstatSync(path.join(clone, 'results', 'g', one.id)).isSymbolicLink(), 'the grid view links to the job');

    const status = await runCli(['status', 'g', '--json', '--runs-dir', path.join(clone, 'results')], env);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(
      JSON.parse(status.stdout).jobs.map((j: { labels: { seed: string }; status: string }) => [j.labels.seed, j.status]),
      [
        ['1', 'done'],
        ['2', 'done'],
        ['3', 'pending'],
      ],
    );

    const rest = await runCli(['run', path.join(clone, 'g.yaml'), '--runs-dir', path.join(clone, 'results')], env);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual(
      executions(execLog).map((e) => e.seed).sort(),
      [1, 2, 3],
      'seeds 1 and 2 ran once, before the clone; seed 3 once, after it',
    );
    assert.deepEqual(resultFiles(jobDir(cloned, one.id)), before, 'a committed result is not rewritten');
    assert.equal(gridPlan(cloned, 'g').jobs[1].id, two.id);
  });
});
