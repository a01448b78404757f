// Crash-safe file primitives for run directories. A reader never sees a
// half-written JSON file (temp file + fsync + rename), and a JSONL file torn
// by a crash loses only its incomplete last line.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.ts';

let tmpCounter = 0;

/**
 * Called before every write of this module (with the file about to be
 * written). The job executor installs one that refuses to write into a run
 * directory whose lock it no longer holds (src/exec/worker.ts): a job taken
 * over by another host stops writing at once, not at its next step.
 */
let writeGuard: ((file: string) => void) | null = null;
export function setWriteGuard(guard: ((file: string) => void) | null): void {
  writeGuard = guard;
}

/**
 * Test seam for disk faults that a test cannot cause for real (root ignores
 * chmod; a full disk is not at hand): RLGRID_TEST_FS_FAULT=CODE:TEXT makes
 * every write of this module to a path containing TEXT fail with errno CODE
 * (EROFS, EACCES, ENOSPC...), as the write() of a real one would.
 */
const FAULT = /^([A-Z]+):(.+)$/.exec(process.env.RLGRID_TEST_FS_FAULT ?? '');
function injectedFault(file: string, syscall: string): void {
  if (!FAULT || !file.includes(FAULT[2])) return;
  const e = new Error(`${FAULT[1]}: injected fault, ${syscall} '${file}'`) as NodeJS.ErrnoException;
  Object.assign(e, { code: FAULT[1], syscall, path: file });
  throw e;
}

/** Rethrow a write error with the file it was for (write() and fsync() errors name none). */
function withPath(e: unknown, file: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && typeof err.code === 'string' && !err.path) err.path = file;
  return e;
}

/** Write a file atomically: temp file in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeGuard?.(file);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${tmpCounter++}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    try {
      injectedFault(file, 'write');
      if (typeof data === 'string') fs.writeSync(fd, data);
      else fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk keeps no half-written temp file
    throw withPath(e, file);
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Read and parse a JSON file; a missing or corrupt file is a UserError naming it. */
export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError([{ file, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError([{ file, message: `corrupt JSON (${(e as Error).message})` }]);
  }
}

/**
 * Append one record as one line. The line is written with a single write()
 * and fsync'd, so after a crash the file ends in a complete line or a torn
 * one that readJsonl drops.
 */
export function appendJsonl(file: string, value: unknown): void {
  writeGuard?.(file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'a');
  try {
    injectedFault(file, 'write');
    fs.writeSync(fd, JSON.stringify(value) + '\n');
    fs.fsyncSync(fd);
  } catch (e) {
    throw withPath(e, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read a JSONL file. A last line without its newline (a torn append) is
 * dropped; a corrupt line anywhere else is a UserError naming file and line.
 * A missing file reads as empty.
 */
export function readJsonl<T = unknown>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1); // last piece is '' or torn
  const out: T[] = [];
  complete.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      throw new UserError([{ file, line: i + 1, message: 'corrupt JSONL line' }]);
    }
  });
  return out;
}

/** Rewrite a JSONL file keeping only records that pass `keep` (atomic). Used on resume. */
export function truncateJsonl<T>(file: string, keep: (r: T) => boolean): void {
  if (!fs.existsSync(file)) return;
  const rows = readJsonl<T>(file).filter(keep);
  writeFileAtomic(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}
