// rlgrid diff: jobs that differ in nested config keys, in metrics only, in
// environment only; two grids cell by cell.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { diffJobs, diffTables, filterJobDiff, keyMatcher, renderGridDiff, renderJobDiff } from '../../src/report/diff.ts';
import { resolveRunArg as resolveSource } from '../../src/cli/grid-arg.ts';
import { loadRun } from '../../src/report/load.ts';
import { buildTable } from '../../src/report/table.ts';
import type { JobRecord, MetricRow } from '../../src/report/types.ts';
import { methodsFixture, tmpDir, type Fixture } from './fixture.ts';

describe('report/diff', function () {
  let runs: string;
  let fx: Fixture;
  /** A run argument read as the commands read it (cli/grid-arg.ts, then report/load.ts). */
  const resolveRunArg = async (arg: string, runsDir: string) => loadRun(await resolveSource(arg, runsDir), runsDir);
  const job = async (arg: string): Promise<JobRecord> => {
    const r = await resolveRunArg(arg, runs);
    assert.equal(r.kind, 'job');
    return (r as { record: JobRecord }).record;
  };
  const clean = (s: string) => s.split(runs).join('<runs>');

  /** A copy of GRPO seed 1's directory, edited by `edit`. */
  function copyOf(name: string, edit: (dir: string) => void): string {
    const dir = path.join(runs, name);
    fs.cpSync(fx.dirOf({ method: 'GRPO', seed: '1' }), dir, { recursive: true });
    edit(dir);
    return dir;
  }

  before(function () {
    runs = tmpDir();
    fx = methodsFixture(runs);
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('configs that differ in a nested key; jobs named by GRID:axis=label', async function () {
    const d = diffJobs(await job('methods:method=GRPO,seed=1'), await job('methods:seed=1,method=Clip-Higher'));
    assert.deepEqual(d.config.filter((c) => !c.same), [{ path: 'train.clip.high', a: 0.2, b: 0.28, same: false }]);
    const text = clean(renderJobDiff(d)).split('\n');
    assert.deepEqual(text.slice(0, 8), [
      `A: ${path.basename(fx.dirOf({ method: 'GRPO', seed: '1' }))} (method=GRPO,seed=1) done  <runs>/jobs/${path.basename(fx.dirOf({ method: 'GRPO', seed: '1' }))}`,
      `B: ${path.basename(fx.dirOf({ method: 'Clip-Higher', seed: '1' }))} (method=Clip-Higher,seed=1) done  <runs>/jobs/${path.basename(fx.dirOf({ method: 'Clip-Higher', seed: '1' }))}`,
      '',
      'config (1 differs):',
      '  train.clip.high: 0.2 -> 0.28',
      'environment: same (times and attempts not compared; --all shows them)',
      'final metrics (18 differ):',
      '  selected.benchmarks.id-val.avg_at_k: 0.36 -> 0.41 (+0.05, +13.9%)',
    ]);
    assert.ok(text.includes('  final.entropy_ema: 0.618 -> 0.675 (+0.057, +9.2%)'));
    assert.ok(text.includes('  actor/entropy: step 1 (0.893 vs 0.895); beyond at step 1'));
  });

  it('a block switched off (clip: null) shows every key it removes', async function () {
    const d = diffJobs(await job('methods:method=GRPO,seed=2'), await job('methods:method=Clip-Free,seed=2'));
    assert.deepEqual(
      d.config.filter((c) => !c.same).map((c) => `${c.path}: ${JSON.stringify(c.a)} -> ${JSON.stringify(c.b)}`),
      ['train.clip: undefined -> null', 'train.clip.dual: 3 -> undefined', 'train.clip.high: 0.2 -> undefined', 'train.clip.low: 0.2 -> undefined'],
    );
    assert.match(renderJobDiff(d), /\n {2}train\.clip: \(absent\) -> null\n {2}train\.clip\.dual: 3 -> \(absent\)\n/);
  });

  it('metrics only: the first step that differs, and the first beyond the tolerance', async function () {
    const dir = copyOf('tampered-metrics', (d) => {
      const file = path.join(d, 'metrics.jsonl');
      const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricRow);
      rows[11]['actor/entropy'] = (rows[11]['actor/entropy'] as number) * (1 + 1e-9); // step 12: tiny
      rows[19]['critic/score/mean'] = (rows[19]['critic/score/mean'] as number) * 1.01; // step 20: 1%
      fs.writeFileSync(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    });
    const d = diffJobs(await job(fx.dirOf({ method: 'GRPO', seed: '1' })), await job(dir));
    assert.equal(
      renderJobDiff(d).split('\n').slice(3).join('\n'),
      [
        'config: same',
        'environment: same (times and attempts not compared; --all shows them)',
        'final metrics: same',
        'curves (first step that differs; first beyond 0.001 relative):',
        '  actor/entropy: step 12 (0.783 vs 0.783000001); never beyond',
        '  critic/score/mean: step 20 (0.3 vs 0.303); beyond at step 20',
        '',
      ].join('\n'),
    );
    // a looser tolerance
    assert.equal(diffJobs(await job(fx.dirOf({ method: 'GRPO', seed: '1' })), await job(dir), { tolerance: 0.02 }).curves.find((c) => c.series === 'critic/score/mean')!.firstBeyond, null);
  });

  it('environment only: code and backend shown; times only with --all', async function () {
    const dir = copyOf('other-machine', (d) => {
      const file = path.join(d, 'manifest.json');
      const m = JSON.parse(fs.readFileSync(file, 'utf8'));
      m.environment.backend = 'cpu';
      m.code.commit = 'deadbee';
      m.started_at = '2025-02-02T00:00:00.000Z';
      fs.writeFileSync(file, JSON.stringify(m));
    });
    const d = diffJobs(await job(fx.dirOf({ method: 'GRPO', seed: '1' })), await job(dir));
    assert.equal(
      renderJobDiff(d).split('\n').slice(3).join('\n'),
      [
        'config: same',
        'environment (2 differ; times and attempts not compared):',
        '  code.commit: "c0ffee0" -> "deadbee"',
        '  environment.backend: "wasm" -> "cpu"',
        'final metrics: same',
        'curves: identical',
        '',
      ].join('\n'),
    );
    const all = renderJobDiff(d, { all: true });
    assert.match(all, /\nenvironment \(3 differ\):\n/);
    assert.match(all, /\n {2}started_at: "2025-01-01T00:00:00\.000Z" -> "2025-02-02T00:00:00\.000Z"\n/);
    assert.match(all, /\n {2}train\.clip\.high: 0\.2\n/); // same keys listed with --all
  });

  it('a selector matching several jobs, or none, says which', async function () {
    await assert.rejects(() => resolveRunArg('methods:method=GRPO', runs), /methods:method=GRPO: 3 jobs match; add axes to pick one:\n {2}[0-9a-f]{12} method=GRPO,seed=1\n/);
    await assert.rejects(() => resolveRunArg('methods:method=PPO', runs), /no job of grid "methods" matches \(method: GRPO, Clip-Higher, Clip-Free, Entropy-Adv; seed: 1, 2, 3\)/);
    await assert.rejects(() => resolveRunArg('nothing-here', runs), /cannot find "nothing-here"/);
  });

  it('a job id or a unique prefix of one', async function () {
    const id = path.basename(fx.dirOf({ method: 'Clip-Free', seed: '3' }));
    const r = await job(id.slice(0, 6));
    assert.deepEqual([r.id, r.status], [id, 'failed']);
    const twin = path.join(runs, 'jobs', `${id.slice(0, 6)}000000`);
    fs.mkdirSync(twin);
    try {
      const both = [id, path.basename(twin)].sort().join(', ');
      await assert.rejects(() => resolveRunArg(id.slice(0, 6), runs), { message: `job id prefix ${id.slice(0, 6)} is ambiguous: ${both}` });
    } finally {
      fs.rmSync(twin, { recursive: true });
    }
  });

  it('--filter keeps the keys that contain a pattern (* and ? as wildcards); the compact default caps each section, headline keys first', async function () {
    const m = keyMatcher(['entropy', 'id-val.*avg']);
    assert.deepEqual(
      ['actor/entropy', 'final.probe_entropy_last3', 'selected.benchmarks.id-val.avg_at_k', 'selected.benchmarks.id-val.pass_at_k', 'actor/pg_clipfrac'].map(m),
      [true, true, true, false, false],
    );
    assert.ok(keyMatcher(['FINAL.?ntropy'])('final.entropy_ema'), 'case-insensitive; ? is one character');
    const d = diffJobs(await job('methods:method=GRPO,seed=1'), await job('methods:method=Clip-Higher,seed=1'));
    const f = filterJobDiff(d, ['entropy']);
    assert.deepEqual(f.config.filter((c) => !c.same), []);
    assert.ok(f.config.every((c) => c.path.includes('entropy')));
    assert.ok(f.final.length > 0 && f.final.every((c) => c.key.includes('entropy')));
    assert.ok(f.curves.every((c) => c.series.includes('entropy')));
    const text = renderJobDiff(f, { filtered: true });
    assert.match(text, /\nconfig: nothing that --filter picks differs\n/);
    assert.match(text, /\n {2}final\.entropy_ema: 0\.618 -> 0\.675 \(\+0\.057, \+9\.2%\)\n/);
    const full = renderJobDiff(d).split('\n');
    const compact = renderJobDiff(d, { limit: 3 }).split('\n');
    assert.ok(compact.length < full.length);
    const fin = compact.indexOf('final metrics (18 differ):');
    assert.ok(fin > 0, compact.join('\n'));
    // headline keys (entropy, scores) first, then the count of the rest
    assert.match(compact[fin + 1], /avg_at_k|pass_at_k|entropy/);
    assert.equal(compact[fin + 4], '  … 15 more (--filter PATTERN picks keys; --all shows everything)');
  });

  it('two grids, cell by cell through the table layout', async function () {
    const other = tmpDir();
    try {
      const fb = methodsFixture(other);
      const file = path.join(fb.dirOf({ method: 'GRPO', seed: '1' }), 'result.json');
      const result = JSON.parse(fs.readFileSync(file, 'utf8'));
      result.selected.benchmarks['id-val'].avg_at_k = 0.39; // 36 -> 39: mean 37 -> 38
      fs.writeFileSync(file, JSON.stringify(result));
      fs.rmSync(fb.dirOf({ method: 'Clip-Higher', seed: '2' }), { recursive: true }); // now missing
      const a = await resolveRunArg(path.join(runs, 'methods'), runs);
      const b = await resolveRunArg(path.join(other, 'methods'), runs);
      assert.equal(a.kind, 'grid');
      assert.equal(b.kind, 'grid');
      if (a.kind !== 'grid' || b.kind !== 'grid') return;
      const d = diffTables(buildTable(a.plan, a.records), buildTable(b.plan, b.records), ['A/methods', 'B/methods']);
      assert.equal(
        renderGridDiff(d),
        [
          'A: A/methods (table2)',
          'B: B/methods (table2)',
          '',
          'cells (13 of 48 differ):',
          '  GRPO | id-val Avg@4: 37.00 ± 1.00 -> 38.00 ± 1.00 (+1.00)',
          '  Clip-Higher | n: 3/3 -> 2/3 (-1)',
          '  Clip-Higher | id-val Avg@4: 42.00 ± 1.00 -> 42.00 ± 1.41',
          '  Clip-Higher | id-val Pass@4: 80.00 ± 2.00 -> 80.00 ± 2.83',
          '  Clip-Higher | id-hard Avg@4: 18.00 ± 1.00 -> 18.00 ± 1.41',
          '  Clip-Higher | id-hard Pass@4: 45.00 ± 2.00 -> 45.00 ± 2.83',
          '  Clip-Higher | ood-logic Avg@4: 22.00 ± 0.50 -> 22.00 ± 0.71',
          '  Clip-Higher | ood-logic Pass@4: 47.00 ± 1.00 -> 47.00 ± 1.41',
          '  Clip-Higher | Average (ID) Avg@4: 30.00 ± 1.00 -> 30.00 ± 1.41',
          '  Clip-Higher | Average (ID) Pass@4: 62.50 ± 2.00 -> 62.50 ± 2.83',
          '  Clip-Higher | Average (OOD) Avg@4: 22.00 ± 0.50 -> 22.00 ± 0.71',
          '  Clip-Higher | Average (OOD) Pass@4: 47.00 ± 1.00 -> 47.00 ± 1.41',
          '  Clip-Higher | Entropy: 0.67800 ± 0.00300 -> 0.67800 ± 0.00424',
          '',
        ].join('\n'),
      );
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
