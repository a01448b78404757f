// Errors that reach the user. The CLI maps them to exit codes
// (src/util/exit-codes.ts): a UserError to 2, a FailedError to 1.

/** One problem in a user's file, located as precisely as we can. */
export interface Diagnostic {
  file?: string;
  line?: number;
  col?: number;
  /** dotted field path, e.g. axes.method."Clip-Higher".train.clip.high */
  path?: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file ?? '';
  if (where && d.line !== undefined) where += `:${d.line}` + (d.col !== undefined ? `:${d.col}` : '');
  const head = [where, d.path].filter(Boolean).join(' ');
  return head ? `${head}: ${d.message}` : d.message;
}

/** Bad input from the user: exit code 2, every diagnostic printed. */
export class UserError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | string) {
    const ds = typeof diagnostics === 'string' ? [{ message: diagnostics }] : diagnostics;
    super(ds.map(formatDiagnostic).join('\n'));
    this.name = 'UserError';
    this.diagnostics = ds;
  }
}

/** A job or a check failed: exit code 1. */
export class FailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailedError';
  }
}

/** Errors of the filesystem that are the machine's state, not a bug: unwritable, full, or a file where a directory belongs. */
const RESOURCE_CODES: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a file is where a directory belongs',
  EISDIR: 'a directory is where a file belongs',
  EMFILE: 'too many open files',
  ENOENT: 'no such file or directory',
};

/** One line for a resource fault ("cannot write PATH: no space left on device (ENOSPC)"), or null for any other error. */
export function resourceFault(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException | null;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !(err.code in RESOURCE_CODES)) return null;
  const where = err.path ?? (err as { dest?: string }).dest;
  const verb = err.syscall === 'mkdir' ? 'cannot create' : ['open', 'scandir', 'stat', 'lstat', 'read'].includes(err.syscall ?? '') ? 'cannot open' : 'cannot write';
  return `${where ? `${verb} ${where}: ` : ''}${RESOURCE_CODES[err.code]} (${err.code}${err.syscall ? `, ${err.syscall}` : ''})`;
}
