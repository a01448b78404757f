// The report commands end to end through bin/rlgrid.js: output, files, exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pngSize } from '../../src/report/figure.ts';
import { methodsFixture, tmpDir } from './fixture.ts';

const BIN = path.resolve('bin/rlgrid.js');

describe('report commands (CLI)', function () {
  this.timeout(120_000);
  let runs: string;
  let cwd: string;
  const rlgrid = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, RLGRID_RUNS_DIR: runs, NO_COLOR: '1' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  before(function () {
    runs = tmpDir();
    cwd = tmpDir('rlgrid-report-cwd-');
    methodsFixture(runs, {
      claims: [
        { name: 'Clip-Higher keeps entropy above GRPO', metric: 'entropy_ema', expect: { greater: { method: 'Clip-Higher' }, than: { method: 'GRPO' } } },
        { name: 'GRPO is better out of domain', metric: 'selected.average_ood.avg_at_k', expect: { greater: { method: 'GRPO' }, than: { method: 'Clip-Higher' } }, gate: false },
      ],
    });
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('table: Markdown on stdout; a golden JSON matches, an edited one fails with the cell, a tolerance admits it', function () {
    const md = rlgrid('table', 'methods', '--format', 'md');
    assert.equal(md.code, 0, md.err);
    assert.equal(md.out.split('\n')[4], '| GRPO | 3 | 37.00 ± 1.00 / 75.00 ± 2.00 | 16.00 ± 1.00 / 42.00 ± 2.00 | 23.00 ± 0.50 / 46.00 ± 1.00 | 26.50 ± 1.00 / 58.50 ± 2.00 | 23.00 ± 0.50 / 46.00 ± 1.00 | 0.62100 ± 0.00300 |');

    assert.equal(rlgrid('table', 'methods', '-f', 'json', '-o', 'golden.json').code, 0);
    const ok = rlgrid('table', 'methods', '--check', 'golden.json');
    assert.deepEqual([ok.code, ok.out], [0, 'table matches golden.json (exactly)\n']);

    const golden = JSON.parse(fs.readFileSync(path.join(cwd, 'golden.json'), 'utf8'));
    golden.rows[0].cells['entropy'].center = 0.6215;
    fs.writeFileSync(path.join(cwd, 'golden.json'), JSON.stringify(golden));
    const bad = rlgrid('table', 'methods', '--check', 'golden.json');
    assert.deepEqual([bad.code, bad.out], [1, 'table differs from golden.json (exactly) in 1 cell:\n  GRPO | Entropy: golden 0.62150, now 0.62100 (-0.0005)\n']);
    assert.equal(rlgrid('table', 'methods', '--check', 'golden.json', '--tolerance', '0.001').code, 0);
    const usage = rlgrid('table', 'methods', '--tolerance', '0.1');
    assert.deepEqual([usage.code, usage.err], [2, 'error: --tolerance goes with --check FILE\n']);
    // --metric (repeatable): a custom table of those metrics
    const m = rlgrid('table', 'methods', '--metric', 'actor/pg_clipfrac@mean', '--metric', 'entropy_ema', '--format', 'md');
    assert.equal(m.code, 0, m.err);
    assert.deepEqual(m.out.split('\n').slice(2, 5), ['| method | n | actor/pg_clipfrac@mean | entropy_ema |', '|:---|---:|---:|---:|', '| GRPO | 3 | 0.0155 ± 0.0000 | 0.6210 ± 0.0030 |']);
    const clash = rlgrid('table', 'methods', '--metric', 'entropy_ema', '--layout', 'table3');
    assert.deepEqual([clash.code, clash.err], [2, 'error: --metric makes a custom table; it cannot go with --layout table3\n']);
  });

  it('check: exit 0 when every gated claim holds (a gate: false claim that is not shown does not fail)', function () {
    const r = rlgrid('check', 'methods');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /2 claims: 1 hold, 1 not shown; no gated claim failed\n$/);
    const j = JSON.parse(rlgrid('check', 'methods', '--json').out);
    assert.deepEqual(j.claims.map((c: { verdict: string }) => c.verdict), ['holds', 'not shown']);
    assert.deepEqual(j.failed, []);
  });

  it('check: exit 1 when a gated claim is not shown', function () {
    const plan = path.join(runs, 'methods', 'plan.json');
    const saved = fs.readFileSync(plan, 'utf8');
    try {
      const p = JSON.parse(saved);
      p.claims[1].gate = true;
      fs.writeFileSync(plan, JSON.stringify(p));
      const r = rlgrid('check', 'methods');
      assert.equal(r.code, 1);
      assert.match(r.out, /2 claims: 1 hold, 1 not shown; 1 gated claim failed\n$/);
    } finally {
      fs.writeFileSync(plan, saved);
    }
  });

  it('plot: an SVG and a PNG per metric; -m before the grid does not swallow it; unfinished jobs are named', function () {
    const r = rlgrid('plot', '-m', 'actor/entropy', '-m', 'probe_entropy', 'methods', '--smooth', 'ema', '-o', 'figs', '--scale', '1.5');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /note: probe_entropy is an evaluation series \(a few points\): not smoothed/);
    assert.match(r.err, /note: actor\/entropy: not drawn: [0-9a-f]{12} method=Clip-Free, seed=\d \(failed\)/);
    assert.equal(rlgrid('plot', '-m', 'actor/entropy,probe_entropy', 'methods', '-o', 'figs2').out, r.out.replace(/figs\//g, 'figs2/'));
    assert.equal(r.out, 'figs/methods-actor_entropy.svg\nfigs/methods-actor_entropy.png\nfigs/methods-probe_entropy.svg\nfigs/methods-probe_entropy.png\n');
    const svg = fs.readFileSync(path.join(cwd, 'figs/methods-actor_entropy.svg'), 'utf8');
    const w = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
    assert.equal(pngSize(fs.readFileSync(path.join(cwd, 'figs/methods-actor_entropy.png'))).width, Math.round(w * 1.5));
    const bad = rlgrid('plot', 'methods', '-m', 'entropy_ema');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /is a result\.json number \(final\.entropy_ema\), not a curve/);
  });

  it('diff: two jobs by selector; a job against a grid is refused', function () {
    const r = rlgrid('diff', 'methods:method=GRPO,seed=1', 'methods:method=Clip-Higher,seed=1');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\nconfig \(1 differs\):\n {2}train\.clip\.high: 0\.2 -> 0\.28\nenvironment: same/);
    const j = JSON.parse(rlgrid('diff', 'methods:method=GRPO,seed=1', 'methods:method=Clip-Higher,seed=1', '--json').out);
    assert.deepEqual(j.config, [{ path: 'train.clip.high', a: 0.2, b: 0.28, same: false }]);
    const mixed = rlgrid('diff', 'methods:method=GRPO,seed=1', 'methods');
    assert.equal(mixed.code, 2);
    assert.match(mixed.err, /cannot compare a job \(methods:method=GRPO,seed=1\) with a grid \(methods\)/);
  });

  it('report: writes the HTML page; an unknown grid is an error naming the grids there are', function () {
    const r = rlgrid('report', 'methods');
    assert.deepEqual([r.code, r.out], [0, 'methods-report.html\n']);
    assert.match(fs.readFileSync(path.join(cwd, 'methods-report.html'), 'utf8'), /<table id="results">/);
    const missing = rlgrid('table', 'nope');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no grid "nope" under .* \(grids: methods\)/);
  });
});
