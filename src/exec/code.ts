// Which code runs a job: the project's git commit, whether the working tree
// is dirty, and a hash of the dirty part (`git diff HEAD` plus untracked
// source files), so that `status` can tell results made by other code (stale).
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

/**
 * Environment override, JSON `{"commit": ..., "dirty": ..., "diff_hash": ...}`:
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
    const top = git(root, ['rev-parse', '--show-toplevel']).toString().trim();
    const diff = git(top, ['diff', 'HEAD', '--binary']);
    const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', ...CODE_DIRS])
      .toString()
      .split('\0')
      .filter(Boolean)
      .sort();
    if (diff.length === 0 && untracked.length === 0) return { commit, dirty: false, diff_hash: null };
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
    return { commit, dirty: true, diff_hash: h.digest('hex') };
  } catch {
    return { commit, dirty: null, diff_hash: null };
  }
}

function fromEnv(): CodeVersion | null {
  const raw = process.env[CODE_ENV];
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as CodeVersion;
    if (typeof v === 'object' && v !== null && 'commit' in v)
      return { commit: v.commit ?? null, dirty: v.dirty ?? null, diff_hash: v.diff_hash ?? null };
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
