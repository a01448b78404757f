// Which code runs a job: the project's git commit, a fingerprint of the code
// files at that commit, whether they have uncommitted changes, and a hash of
// those (`git diff HEAD` plus untracked source files), so that `status` can
// tell results made by other code (stale). Only the code paths count: a
// commit that touches docs, grids or tests leaves every job fresh, and so does
// one that touches only src/report (floor 7: no job's code can import it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { UNKNOWN_CODE, type CodeVersion } from '../runs/manifest.ts';

/** The rlgrid checkout this process runs from. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Untracked files under these folders count as code (a new source file changes results). */
export const CODE_DIRS = ['src', 'bin', 'schema'];
/** What a job's results depend on besides its config: the code folders and the pinned dependencies. */
export const CODE_PATHS = [...CODE_DIRS, 'package.json', 'package-lock.json'];
/** Code that only reads finished runs (tables, figures, claims): the floor rule keeps every job's imports out of it. */
export const READ_ONLY_CODE = 'src/report/';
const NOT_CODE = `:(exclude)${READ_ONLY_CODE}`;

/**
 * Environment override, JSON `{"commit": ..., "tree": ..., "dirty": ..., "diff_hash": ...}`:
 * `run` hands its snapshot to the workers it starts (one git call per run, and
 * every job of a run records the same code); tests use it to simulate commits.
 */
export const CODE_ENV = 'RLGRID_CODE_VERSION';

function git(root: string, args: string[]): Buffer {
  return execFileSync('git', ['-C', root, ...args], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
}

/** The code version of the git repository at `root` (all null without git or outside a repository). */
export function gitCodeVersion(root: string = PACKAGE_ROOT): CodeVersion {
  let commit: string;
  try {
    commit = git(root, ['rev-parse', 'HEAD']).toString().trim();
  } catch {
    return { ...UNKNOWN_CODE };
  }
  try {
    // `ls-tree -r` lists the object id of each code file at HEAD: equal listings, equal code.
    const listing = git(root, ['ls-tree', '-r', 'HEAD', '--', ...CODE_PATHS])
      .toString()
      .split('\n')
      .filter((line) => !line.split('\t')[1]?.startsWith(READ_ONLY_CODE))
      .join('\n');
    const tree = createHash('sha256').update(listing).digest('hex');
    const diff = git(root, ['diff', 'HEAD', '--binary', '--', ...CODE_PATHS, NOT_CODE]);
    const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', ...CODE_DIRS, NOT_CODE])
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
