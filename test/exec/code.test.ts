import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitCodeVersion, JOB_CODE_DIRS, refingerprint, treeAt } from '../../src/exec/code.ts';
import { jobDir, jobLockFile, openStore } from '../../src/runs/store.ts';
import { tryLock } from '../../src/runs/lock.ts';
import { srcGraph } from '../arch/graph.ts';
import { isStale, newManifest, readManifest, writeManifest } from '../../src/runs/manifest.ts';
import { tmpDir } from './fixtures.ts';

const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('exec/code (staleness)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is all null outside a git repository', () => {
    assert.deepEqual(gitCodeVersion(dir), { commit: null, tree: null, dirty: null, diff_hash: null });
  });

  it('records commit, dirty flag and a hash of the diff plus untracked source files', function () {
    if (!hasGit) this.skip();
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', dir, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
    git('init', '-q');
    const grpo = path.join(dir, 'src', 'grpo');
    fs.mkdirSync(grpo, { recursive: true });
    fs.writeFileSync(path.join(grpo, 'a.ts'), 'export const a = 1;\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const head = git('rev-parse', 'HEAD').trim();
    const clean = gitCodeVersion(dir);
    assert.equal(clean.commit, head);
    assert.match(clean.tree!, /^[0-9a-f]{64}$/);
    assert.deepEqual({ ...clean, tree: 'T' }, { commit: head, tree: 'T', dirty: false, diff_hash: null });

    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not code');
    assert.deepEqual(gitCodeVersion(dir), clean, "an untracked file outside the trainer's folders is not code");
    git('add', 'notes.txt');
    assert.deepEqual(gitCodeVersion(dir), clean, 'nor is a staged change outside the code paths');

    fs.writeFileSync(path.join(grpo, 'a.ts'), 'export const a = 2;\n');
    const edited = gitCodeVersion(dir);
    assert.equal(edited.commit, head);
    assert.equal(edited.dirty, true);
    assert.match(edited.diff_hash!, /^[0-9a-f]{64}$/);

    fs.writeFileSync(path.join(grpo, 'b.ts'), 'export const b = 1;\n');
    const added = gitCodeVersion(dir);
    assert.notEqual(added.diff_hash, edited.diff_hash, 'a new untracked source file changes the hash');
    fs.writeFileSync(path.join(grpo, 'b.ts'), 'export const b = 2;\n');
    assert.notEqual(gitCodeVersion(dir).diff_hash, added.diff_hash, 'and so does its content');

    git('add', '.');
    git('commit', '-q', '-m', 'two');
    const next = gitCodeVersion(dir);
    assert.notEqual(next.commit, head);
    assert.notEqual(next.tree, clean.tree, 'committed source changes change the tree');
    assert.equal(next.dirty, false);

    // A commit that touches only docs: another commit, the same code.
    fs.writeFileSync(path.join(dir, 'README.md'), '# docs\n');
    git('add', '.');
    git('commit', '-q', '-m', 'docs');
    const docs = gitCodeVersion(dir);
    assert.notEqual(docs.commit, next.commit);
    assert.equal(docs.tree, next.tree);
    const done = { ...newManifest('abcdef123456', 1), status: 'done' as const, code: next };
    assert.equal(isStale(done, docs), false, 'a docs-only commit leaves a job fresh');

    // what starts, watches and reads jobs (src/cli, src/exec, src/report, bin/):
    // editing or committing it leaves every job fresh
    for (const d of ['src/cli', 'src/exec', 'src/report', 'bin']) {
      fs.mkdirSync(path.join(dir, d), { recursive: true });
      fs.writeFileSync(path.join(dir, d, 'x.ts'), 'export const t = 1;\n');
    }
    assert.deepEqual({ ...gitCodeVersion(dir), commit: 'C' }, { ...docs, commit: 'C' }, 'an untracked file there is not code');
    git('add', '.');
    git('commit', '-q', '-m', 'cli');
    fs.writeFileSync(path.join(dir, 'src', 'exec', 'x.ts'), 'export const t = 2;\n');
    const cli = gitCodeVersion(dir);
    assert.deepEqual([cli.tree, cli.dirty], [docs.tree, false], 'nor is a committed or edited one');
    assert.equal(isStale(done, cli), false);
    fs.mkdirSync(path.join(dir, 'src', 'nn'));
    fs.writeFileSync(path.join(dir, 'src', 'nn', 'model.ts'), 'export const m = 1;\n');
    assert.equal(gitCodeVersion(dir).dirty, true, 'a new file in a folder the trainer imports is code');
    fs.rmSync(path.join(dir, 'src', 'nn'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}\n');
    git('add', '.');
    git('commit', '-q', '-m', 'deps');
    assert.equal(isStale(done, gitCodeVersion(dir)), true, 'a dependency change makes it stale');
    assert.equal(isStale({ ...done, code: { ...next, tree: undefined } }, docs), true, 'without a recorded tree, commits are compared');
  });

  it("counts exactly the folders of the trainer's import closure (src/grpo/job.ts)", () => {
    const graph = srcGraph();
    const seen = new Set<string>();
    const todo = ['grpo/job.ts'];
    while (todo.length > 0) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...(graph.get(f) ?? []));
    }
    const folders = [...new Set([...seen].map((f) => `src/${f.split('/')[0]}`))].sort();
    assert.ok(seen.size > 40, `${seen.size} files`);
    assert.deepEqual([...JOB_CODE_DIRS].sort(), folders);
  });

  it('refingerprint: recomputes done jobs\' fingerprints from their commits under the current definition, leaving dirty, unknown, held and unfinished ones alone', function () {
    if (!hasGit) this.skip();
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', dir, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
    git('init', '-q');
    for (const d of ['src/grpo', 'src/cli']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'grpo', 'a.ts'), 'export const a = 1;\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const one = git('rev-parse', 'HEAD').trim();
    const store = openStore(path.join(dir, 'runs'));
    const job = (id: string, status: 'done' | 'running', code: { commit: string; dirty: boolean }): string => {
      const d = jobDir(store, id);
      fs.mkdirSync(d, { recursive: true });
      writeManifest(d, { ...newManifest(id, 1), status, code: { ...code, tree: 'old definition', diff_hash: code.dirty ? 'd' : null } });
      return d;
    };
    job('aaaaaa000001', 'done', { commit: one, dirty: false });
    job('aaaaaa000002', 'done', { commit: one, dirty: true });
    job('aaaaaa000003', 'done', { commit: 'f'.repeat(40), dirty: false });
    job('aaaaaa000004', 'running', { commit: one, dirty: false });
    const held = tryLock(jobLockFile(job('aaaaaa000005', 'done', { commit: one, dirty: false })));
    assert.ok(held.ok);
    const before = gitCodeVersion(dir);
    assert.equal(isStale(readManifest(jobDir(store, 'aaaaaa000001'))!, before), true, 'an old definition reads stale');

    const r = refingerprint(store, dir);
    held.handle.release();
    assert.deepEqual(r.updated, ['aaaaaa000001']);
    assert.deepEqual(r.skipped, [
      { id: 'aaaaaa000002', why: 'uncommitted changes' },
      { id: 'aaaaaa000003', why: `commit ${'f'.repeat(12)} is not in this repository` },
      { id: 'aaaaaa000005', why: 'its lock is held' },
    ]);
    const m = readManifest(jobDir(store, 'aaaaaa000001'))!;
    assert.deepEqual(m.code, { commit: one, tree: treeAt(one, dir), dirty: false, diff_hash: null });
    assert.equal(isStale(m, before), false);
    assert.equal(readManifest(jobDir(store, 'aaaaaa000004'))!.code.tree, 'old definition', 'a running job is its worker\'s');
    assert.deepEqual(refingerprint(store, dir).updated, ['aaaaaa000005'], 'its lock released, the held job is done next time');
    assert.deepEqual(refingerprint(store, dir).updated, [], 'then a pass changes nothing');

    // from then on, only a change to the job code makes it stale
    fs.writeFileSync(path.join(dir, 'src', 'cli', 'x.ts'), 'export const x = 1;\n');
    git('add', '.');
    git('commit', '-q', '-m', 'cli');
    assert.equal(isStale(m, gitCodeVersion(dir)), false);
    fs.writeFileSync(path.join(dir, 'src', 'grpo', 'a.ts'), 'export const a = 2;\n');
    git('add', '.');
    git('commit', '-q', '-m', 'grpo');
    assert.equal(isStale(m, gitCodeVersion(dir)), true);
  });
});
