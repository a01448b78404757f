// Ctrl-C in a real terminal (a pseudo-terminal, test/helpers/pty.ts) stops
// `rlgrid run` with the real trainer: the progress spinner must not put the
// terminal in raw mode (ora's default discardStdin would, and Ctrl-C would
// then reach nobody as SIGINT).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/runs/manifest.ts';
import { BIN } from '../exec/fixtures.ts';
import { jobDirs, realProject, stepsLogged, type RealProject } from '../exec/realjob.ts';
import { hasPython3Pty, runInPty } from '../helpers/pty.ts';

// a user's terminal: colour on, and not CI (ora and is-interactive turn the spinner off when CI is set, as CI itself does)
const TERMINAL_ENV = { NO_COLOR: undefined, CI: undefined, TERM: 'xterm' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rlgrid run in a terminal', function () {
  this.timeout(180_000);
  let p: RealProject;
  before(function () {
    if (!hasPython3Pty()) this.skip();
    p = realProject({ steps: 100, seeds: [1], checkpointEvery: 25, extraEnv: TERMINAL_ENV });
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

describe('rlgrid run in a terminal: live progress', function () {
  this.timeout(180_000);
  let p: RealProject;
  before(function () {
    if (!hasPython3Pty()) this.skip();
    p = realProject({ steps: 30, seeds: [1, 2], name: 'live', extraEnv: TERMINAL_ENV });
  });
  after(() => p && fs.rmSync(p.root, { recursive: true, force: true }));

  it("shows each running job's step, steps/s, entropy and reward within 5 s of its start, and an ETA", async () => {
    const run = runInPty([process.execPath, BIN, 'run', p.grid, '--runs-dir', p.runs, '--no-check', '--jobs', '2'], { cwd: p.root, env: p.env });
    // eslint-disable-next-line no-control-regex
    const plain = (): string => run.output().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    const started = new Map<string, number>();
    const shown = new Map<string, { at: number; step: number; rate: number; entropy: number; reward: number }>();
    const written = new Map<string, number>(); // when each job's first step row reached metrics.jsonl
    let eta = false;
    try {
      let code: number | null | undefined;
      void run.exited.then((c) => (code = c));
      const end = Date.now() + 120_000;
      while (code === undefined && (shown.size < 2 || !eta)) {
        if (Date.now() > end) assert.fail(`no progress in time:\n${plain()}`);
        const text = plain();
        const now = performance.now();
        for (const m of text.matchAll(/start {4}([0-9a-f]{12})/g)) if (!started.has(m[1])) started.set(m[1], now);
        for (const id of started.keys()) {
          if (!written.has(id) && stepsLogged(path.join(p.runs, 'jobs', id)) > 0) written.set(id, now);
          const m = new RegExp(`${id}  seed=\\d  step ([1-9]\\d*)/30  ([\\d.]+) steps/s  entropy ([\\d.]+)  reward ([\\d.]+)`).exec(text);
          if (m && !shown.has(id)) shown.set(id, { at: now, step: Number(m[1]), rate: Number(m[2]), entropy: Number(m[3]), reward: Number(m[4]) });
        }
        eta ||= /running, 0 failed, ETA \d/.test(text);
        await sleep(20);
      }
      assert.equal(started.size, 2, plain());
      assert.equal(shown.size, 2, plain());
      for (const [id, s] of shown) {
        const after = (s.at - started.get(id)!) / 1000;
        assert.ok(after < 5, `job ${id}: its step shown ${after.toFixed(1)} s after its start`);
        // the display's own share: a poll (500 ms) after the row reached metrics.jsonl, plus the terminal
        const lag = (s.at - (written.get(id) ?? 0)) / 1000;
        assert.ok(lag < 1.5, `job ${id}: shown ${lag.toFixed(2)} s after its step was written`);
        assert.ok(s.rate > 0 && s.entropy > 0 && s.reward >= 0 && s.reward <= 1, JSON.stringify(s));
      }
      assert.ok(eta, 'an ETA while jobs run');
      assert.equal(await run.exited, 0, plain());
      assert.match(plain(), /wall time \d/);
      assert.match(plain(), /next: rlgrid table \S+live\.yaml/);
      const secs = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined ? ((a - b) / 1000).toFixed(2) : '?');
      console.log(`      after the start line: ${[...shown].map(([id, s]) => `step ${s.step} written ${secs(written.get(id), started.get(id))} s, shown ${secs(s.at, started.get(id))} s`).join('; ')}`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
