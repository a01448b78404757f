// Errors that reach the user. The CLI maps them to exit codes:
// 0 ok, 1 a job or check failed, 2 bad input or usage.
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

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
