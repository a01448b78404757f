// Ctrl-C in a real terminal (a pseudo-terminal, test/helpers/pty.ts) stops
// `rlgrid run` with the real trainer: the progress spinner must not put the
// terminal in raw mode (ora's default discardStdin would, and Ctrl-C would
// then reach nobody as SIGINT).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readManifest } from '../../src/runs/manifest.ts';
import { BIN } from '../exec/fixtures.ts';
import { jobDirs, realProject, stepsLogged, type RealProject } from '../exec/realjob.ts';
import { hasPython3Pty, runInPty } from '../helpers/pty.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rlgrid run in a terminal', function () {
  this.timeout(180_000);
  let p: RealProject;
  before(function () {
    if (!hasPython3Pty()) this.skip();
    p = realProject({ steps: 100, seeds: [1], checkpointEvery: 25, extraEnv: { NO_COLOR: undefined, TERM: 'xterm' } });
  });
  after(() => p && fs.rmSync(p.root, { recursive: true, force: true }));

  it('Ctrl-C typed at the terminal stops the run (exit 130), the job interrupted at a step boundary', async () => {
    const run = runInPty([process.execPath, BIN, 'run', p.grid, '--runs-dir', p.runs, '--no-check'], { cwd: p.root, env: p.env });
    try {
      const end = Date.now() + 90_000;
      while (!(jobDirs(p.runs).length === 1 && stepsLogged(jobDirs(p.runs)[0]) >= 8)) {
        if (Date.now() > end) assert.fail(`no step 8 in time:\n${run.output()}`);
        await sleep(10);
      }
      // the spinner is on (ora hides the cursor on a terminal), so this is the case that broke
      assert.match(run.output(), /\x1b\[\?25l/, 'no spinner on the terminal');
      const t0 = performance.now();
      run.type('\x03');
      const code = await run.exited;
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(code, 130, run.output());
      assert.ok(seconds < 10, `${seconds} s`);
      assert.match(run.output(), /SIGINT: stopping/);
      const m = readManifest(jobDirs(p.runs)[0])!;
      assert.equal(m.status, 'interrupted');
      assert.match(m.reason ?? '', /stopped by SIGINT/);
      assert.ok(stepsLogged(jobDirs(p.runs)[0]) < 100);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
