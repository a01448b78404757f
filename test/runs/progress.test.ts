// Live progress read from a job's metrics.jsonl tail (src/runs/progress.ts):
// rows, rates and the grid's ETA against hand-computed values.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gridEta, parseStepRows, progressText, readMetricsTail, stepRate, ProgressTracker, MIN_WALL_WINDOW_MS } from '../../src/runs/progress.ts';
import { nextCommands, shellWord } from '../../src/cli/run.ts';
import { tmpDir } from '../exec/fixtures.ts';

const row = (step: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ step, 'actor/entropy': 1 / step, 'critic/score/mean': step / 10, 'time/step_s': 0.25, ...extra }) + '\n';

describe('live progress (metrics.jsonl tail)', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir('rlgrid-progress-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (s: string): void => fs.writeFileSync(path.join(dir, 'metrics.jsonl'), s);

  it('reads the last complete rows: a torn last line and a line cut by the window are skipped', () => {
    assert.deepEqual(readMetricsTail(dir), []); // no file yet
    write(row(1) + row(2) + '{"step": 3, "actor/entr');
    const rows = readMetricsTail(dir);
    assert.deepEqual(rows.map((r) => r.step), [1, 2]);
    assert.deepEqual(rows[1], { step: 2, entropy: 0.5, reward: 0.2, stepSeconds: 0.25 });
    // a window of 1.5 rows: the cut first piece is dropped, not misparsed
    const text = row(1) + row(2) + row(3);
    write(text);
    const win = Math.ceil(row(3).length * 1.5);
    assert.deepEqual(readMetricsTail(dir, win).map((r) => r.step), [3]);
    assert.deepEqual(readMetricsTail(dir, text.length).map((r) => r.step), [1, 2, 3]);
  });

  it('rows without numbers read as null; non-step lines are ignored', () => {
    const rows = parseStepRows(['{"step": 4, "actor/entropy": null}', '{"no": 1}', 'garbage', '']);
    assert.deepEqual(rows, [{ step: 4, entropy: null, reward: null, stepSeconds: null }]);
  });

  it('rate: the rows\' step times until the watcher saw 2 s, then wall clock (evaluations included)', () => {
    const rows = parseStepRows([row(1), row(2)].map((s) => s.trim()).concat(JSON.stringify({ step: 3, 'time/step_s': 1 })));
    assert.equal(stepRate([{ t: 0, step: 1 }], rows), 3 / 1.5); // 0.25 + 0.25 + 1 s for 3 steps
    assert.equal(stepRate([{ t: 0, step: 1 }, { t: MIN_WALL_WINDOW_MS - 1, step: 3 }], rows), 2);
    assert.equal(stepRate([{ t: 0, step: 1 }, { t: 4000, step: 3 }], rows), 0.5); // 2 steps in 4 s
    assert.equal(stepRate([], parseStepRows(['{"step": 1}'])), null);
  });

  it('the tracker keeps a history per job and starts over when the metrics went back (a resume)', () => {
    let now = 0;
    const tr = new ProgressTracker(() => now);
    write(row(1));
    assert.deepEqual(tr.sample('a', dir, 10), { step: 1, steps: 10, rate: 4, entropy: 1, reward: 0.1, eta: 9 / 4 });
    now = 1000;
    write(row(1) + row(2));
    tr.sample('a', dir, 10);
    now = 5000;
    write(row(1) + row(2) + row(3) + row(4) + row(5));
    const p = tr.sample('a', dir, 10);
    assert.equal(p.rate, 0.8); // step 1 seen at 0 s, step 5 at 5 s
    assert.equal(p.eta, 5 / 0.8);
    write(row(1)); // resumed from an earlier checkpoint: metrics truncated
    now = 6000;
    assert.equal(tr.sample('a', dir, 10).rate, 4);
    fs.rmSync(path.join(dir, 'metrics.jsonl'));
    assert.deepEqual(tr.sample('b', dir, 10), { step: 0, steps: 10, rate: null, entropy: null, reward: null, eta: null });
  });

  it('grid ETA: running jobs end at their rates, waiting ones take the earliest free slot at the mean rate', () => {
    // slots end at 5 s and 30 s; mean rate 1.5: 20 steps take 13.33 s -> 18.33, then 31.67
    assert.ok(Math.abs(gridEta([{ stepsLeft: 10, rate: 2 }, { stepsLeft: 30, rate: 1 }], [20, 20], 2)! - 95 / 3) < 1e-9);
    // one slot: everything in sequence
    assert.equal(gridEta([{ stepsLeft: 10, rate: 2 }], [10, 4], 1), 5 + 7);
    // a running job without a rate yet uses the mean of the others (or of ended launches)
    assert.equal(gridEta([{ stepsLeft: 8, rate: null }], [], 1, [2]), 4);
    assert.equal(gridEta([{ stepsLeft: 8, rate: null }], [3], 2), null);
    assert.equal(gridEta([], [], 2), 0);
  });

  it('progress text names step/total, rate, entropy and reward', () => {
    assert.equal(progressText({ step: 37, steps: 100, rate: 4.2123, entropy: 0.41234, reward: 0.625, eta: 15 }), 'step 37/100  4.21 steps/s  entropy 0.412  reward 0.625');
    assert.equal(progressText({ step: 0, steps: 100, rate: null, entropy: null, reward: null, eta: null }), 'step 0/100 (starting)');
    assert.equal(progressText({ step: 100, steps: 100, rate: 2, entropy: 0.1, reward: 1, eta: 0 }), 'step 100/100  2.00 steps/s  entropy 0.100  reward 1.00  (final evaluation)');
  });

  it('the next commands repeat the grid and its overrides, shell-quoted', () => {
    assert.equal(shellWord("method=GRPO*"), "'method=GRPO*'");
    assert.equal(shellWord("it's"), `'it'\\''s'`);
    assert.deepEqual(nextCommands('grids/ci/table2.yaml', {}), ['rlgrid table grids/ci/table2.yaml', 'rlgrid check grids/ci/table2.yaml', 'rlgrid report grids/ci/table2.yaml']);
    assert.deepEqual(nextCommands('g.yaml', { set: ['train.steps=3'], seeds: '1', only: ['method=GRPO*'] }), [
      "rlgrid table g.yaml --set train.steps=3 --seeds 1 --only 'method=GRPO*'",
      "rlgrid check g.yaml --set train.steps=3 --seeds 1 --only 'method=GRPO*'",
    ]);
  });
});
