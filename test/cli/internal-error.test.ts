// A bug reaches the user as one line and a file holding its stack trace,
// never as a bare stack (the project's rule for what a user sees).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { internalErrorReport } from '../../src/cli/common.ts';
import { tmpDir } from '../exec/fixtures.ts';

describe('internal errors: one line for the user, the stack trace in a file', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.RLGRID_DEBUG;
    delete process.env.RLGRID_DEBUG;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.RLGRID_DEBUG;
    else process.env.RLGRID_DEBUG = saved;
  });

  it('prints the message and the file; the file holds the stack', () => {
    const dir = tmpDir();
    const out = internalErrorReport(new TypeError('x is undefined'), dir);
    const file = path.join(dir, `rlgrid-internal-error-${process.pid}.txt`);
    assert.equal(
      out,
      `internal error (a bug in rlgrid): x is undefined\n  its stack trace is in ${file}: please report it with that file\n`,
    );
    assert.doesNotMatch(out, /\n\s+at /);
    assert.match(fs.readFileSync(file, 'utf8'), /TypeError: x is undefined\n\s+at .*internal-error\.test\.ts/);
  });

  it('an unwritable directory still gives one line, pointing at RLGRID_DEBUG', () => {
    const out = internalErrorReport(new Error('boom'), path.join(tmpDir(), 'missing', 'dir'));
    assert.equal(out, 'internal error (a bug in rlgrid): boom\n  set RLGRID_DEBUG=1 to print its stack trace\n');
  });

  it('RLGRID_DEBUG=1 prints the stack itself', () => {
    process.env.RLGRID_DEBUG = '1';
    assert.match(internalErrorReport(new Error('boom'), tmpDir()), /^internal error \(a bug in rlgrid\): Error: boom\n\s+at /);
  });
});
