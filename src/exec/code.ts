// Which code runs a job: the project's git commit, a fingerprint of the code
// a job's results depend on at that commit, whether it has uncommitted
// changes, and a hash of those (`git diff HEAD` plus untracked source files),
// so that `status` can tell results made by other code (stale). That code is
// the trainer's: the folders of src/ that src/grpo/job.ts imports, directly or
// not (all on floors 0-6), and the pinned dependencies. What starts, watches and reads
// jobs (src/exec, src/cli, src/report, src/grid, bin/, schema/), docs, grids
// and tests do not count: a fix there leaves every job fresh.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { readManifest, UNKNOWN_CODE, writeManifest, type CodeVersion } from '../runs/manifest.ts';
import { tryLock } from '../runs/lock.ts';
import { jobDir, jobIdsWithPrefix, jobLockFile, type Store } from '../runs/store.ts';

/** The rlgrid checkout this process runs from. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The folders of the trainer's import closure (test/exec/code.test.ts checks
 * that this is exactly the closure of src/grpo/job.ts): untracked files under
 * them count as code too (a new source file changes results).
 */
export const JOB_CODE_DIRS = ['src/config', 'src/data', 'src/grpo', 'src/metrics', 'src/nn', 'src/runs', 'src/tasks', 'src/util'];
/** What a job's results depend on besides its config and its base model (recorded apart, model_sha256). */
export const CODE_PATHS = [...JOB_CODE_DIRS, 'package.json', 'package-lock.json'];

/**
 * Environment override, JSON `{"commit": ..., "tree": ..., "dirty": ..., "diff_hash": ...}`:
 * `run` hands its snapshot to the workers it starts (one git call per run, and
 * every job of a run records the same code); tests use it to simulate commits.
 */
export const CODE_ENV = 'RLGRID_CODE_VERSION';

function git(root: string, args: string[]): Buffer {
  return execFileSync('git', ['-C', root, ...args], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
}

/** The fingerprint of the job code at a commit (null where the repository at `root` cannot read that commit). */
export function treeAt(commit: string, root: string = PACKAGE_ROOT): string | null {
  try {
    // `ls-tree -r` lists the object id of each code file: equal listings, equal code.
    return createHash('sha256')
      .update(git(root, ['ls-tree', '-r', commit, '--', ...CODE_PATHS]))
      .digest('hex');
  } catch {
    return null;
  }
}

/** The code version of the git repository at `root` (all null without git or outside a repository). */
export function gitCodeVersion(root: string = PACKAGE_ROOT): CodeVersion {
  let commit: string;
  try {
    commit = git(root, ['rev-parse', 'HEAD']).toString().trim();
  } catch {
    return { ...UNKNOWN_CODE };
  }
  const tree = treeAt('HEAD', root);
  if (tree === null) return { commit, tree: null, dirty: null, diff_hash: null };
  try {
    const diff = git(root, ['diff', 'HEAD', '--binary', '--', ...CODE_PATHS]);
    const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', ...JOB_CODE_DIRS])
      .toString()
      .split('\0')
      .filter(Boolean)
      .sort();
    if (diff.length === 0 && untracked.length === 0) return { commit, tree, dirty: false, diff_hash: null };
    const h = createHash('sha256');
    h.update(diff);
    for (const f of untracked) {
      h.update(`\0untracked\0${f}\0`);
      try {
        h.update(fs.readFileSync(path.join(root, f)));
      } catch {
        // vanished between listing and reading
      }
    }
    return { commit, tree, dirty: true, diff_hash: h.digest('hex') };
  } catch {
    return { commit, tree: null, dirty: null, diff_hash: null };
  }
}

function fromEnv(): CodeVersion | null {
  const raw = process.env[CODE_ENV];
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as CodeVersion;
    if (typeof v === 'object' && v !== null && 'commit' in v)
      return { commit: v.commit ?? null, tree: v.tree ?? null, dirty: v.dirty ?? null, diff_hash: v.diff_hash ?? null };
  } catch {
    // fall through to git
  }
  return null;
}

let cached: CodeVersion | undefined;
/** The current code version (RLGRID_CODE_VERSION if set, else git), computed once per process. */
export function codeVersion(): CodeVersion {
  cached ??= fromEnv() ?? gitCodeVersion();
  return cached;
}

export interface Refingerprinted {
  /** jobs whose recorded fingerprint changed */
  updated: string[];
  /** done jobs left as they were, with the reason */
  skipped: { id: string; why: string }[];
}

/**
 * Recompute the fingerprint recorded in every done job's manifest from its
 * recorded commit, under the current definition of the job code (CODE_PATHS).
 * After that definition changes, every job reads stale until this runs; then
 * exactly the jobs whose job code differs from the current code's do. Jobs
 * with uncommitted changes (their diff cannot be recomputed), commits this
 * repository lacks, and jobs whose lock is held are left alone.
 */
export function refingerprint(store: Store, root: string = PACKAGE_ROOT): Refingerprinted {
  const out: Refingerprinted = { updated: [], skipped: [] };
  const trees = new Map<string, string | null>();
  for (const id of jobIdsWithPrefix(store, '')) {
    const dir = jobDir(store, id);
    const m = readManifest(dir);
    if (m?.status !== 'done') continue;
    const commit = m.code.commit;
    if (commit === null || m.code.dirty !== false) {
      out.skipped.push({ id, why: commit === null ? 'no commit recorded' : 'uncommitted changes' });
      continue;
    }
    if (!trees.has(commit)) trees.set(commit, treeAt(commit, root));
    const tree = trees.get(commit)!;
    if (tree === null) {
      out.skipped.push({ id, why: `commit ${commit.slice(0, 12)} is not in this repository` });
      continue;
    }
    if (tree === m.code.tree) continue;
    const lock = tryLock(jobLockFile(dir), { purpose: 'refingerprint' });
    if (!lock.ok) {
      out.skipped.push({ id, why: 'its lock is held' });
      continue;
    }
    try {
      const now = readManifest(dir);
      if (now?.status === 'done' && now.code.commit === commit) {
        writeManifest(dir, { ...now, code: { ...now.code, tree } });
        out.updated.push(id);
      }
    } finally {
      lock.handle.release();
    }
  }
  return out;
}
