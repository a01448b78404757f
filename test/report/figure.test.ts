// Training curves: the data behind them, the SVG vega draws and the PNG
// resvg rasterizes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { curveData, curveSpec, curveSubtitle, pngSize, renderSvg, slug, svgSize, svgToPng, wrapAtCommas } from '../../src/report/figure.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { methodsFixture, tmpDir } from './fixture.ts';

/** Texts of the SVG's <text> elements, entities decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );
}

describe('report/figure', function () {
  let runs: string;
  let grid: ReturnType<typeof loadGridRecords>;

  before(function () {
    runs = tmpDir();
    methodsFixture(runs);
    grid = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('averages each step over the finished jobs of a group, with a ± std band', function () {
    const d = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'] });
    assert.deepEqual(d.groups, ['GRPO', 'Clip-Higher', 'Clip-Free']); // Entropy-Adv never ran
    assert.deepEqual(d.jobs, { GRPO: 3, 'Clip-Higher': 3, 'Clip-Free': 2 });
    const last = d.points.find((p) => p.group === 'GRPO' && p.step === 30)!;
    // 0.9 - 0.01 * 30 + 0.003 * seed for seeds 1..3
    assert.deepEqual([last.mean, last.lo, last.hi, last.n].map((x) => Number(x.toFixed(9))), [0.606, 0.603, 0.609, 3]);
  });

  it('EMA smoothing (beta 0.6) per job before averaging; unfinished jobs on request', function () {
    const ema = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'], smooth: 'ema' });
    assert.equal(ema.points.find((p) => p.group === 'GRPO' && p.step === 30)!.mean.toFixed(5), '0.62100');
    const all = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'], allJobs: true });
    assert.equal(all.jobs['Clip-Free'], 3);
    const n = (step: number) => all.points.find((p) => p.group === 'Clip-Free' && p.step === step)!.n;
    assert.deepEqual([n(11), n(12)], [3, 2]); // the failed job stopped after step 11
  });

  it('eval series plot too; result.json numbers and unknown axes do not', function () {
    const d = curveData(grid.plan, grid.records, { metric: 'probe_entropy', group: ['method'] });
    assert.deepEqual([...new Set(d.points.map((p) => p.step))], [0, 10, 20, 30]);
    assert.throws(() => curveData(grid.plan, grid.records, { metric: 'final.entropy_ema', group: ['method'] }), /is a result\.json number \(final\.entropy_ema\), not a curve/);
    assert.throws(() => curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['methd'] }), /--group: unknown axis "methd"/);
  });

  it('evaluation series are not smoothed, scores are in percent as in the tables, unfinished jobs are listed', function () {
    const d = curveData(grid.plan, grid.records, { metric: 'benchmarks.id-val.avg_at_k', group: ['method'], smooth: 'ema' });
    assert.equal(d.smooth, 'none');
    assert.equal(d.percent, true);
    // GRPO (mi 0) at step 30: (250 + 10 * (seed - 2) + 120) / 1000 over seeds 1..3 = 0.37, in percent 37
    assert.equal(d.points.find((p) => p.group === 'GRPO' && p.step === 30)!.mean.toFixed(6), '37.000000');
    const raw = curveData(grid.plan, grid.records, { metric: 'probe_entropy', group: ['method'], smooth: 'ema' });
    assert.equal(raw.percent, false);
    // the smoothed training series still differs from the raw one
    const ema = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'], smooth: 'ema' });
    assert.equal(ema.smooth, 'ema');
    // the failed Clip-Free job and the Entropy-Adv jobs that never ran are named, not dropped
    const statuses = d.notDrawn.map((j) => `${j.labels.method}:${j.status}`).sort();
    assert.ok(statuses.includes('Clip-Free:failed'), statuses.join(' '));
    assert.ok(statuses.some((s) => s.startsWith('Entropy-Adv:')), statuses.join(' '));
    assert.match(curveSubtitle(d), new RegExp(`; not drawn: ${d.notDrawn.length} jobs \\(`));
    assert.match(JSON.stringify(curveSpec(d)), /benchmarks\.id-val\.avg_at_k \(%\)/);
  });

  it('the SVG parses and names every series, the axes and the legend', async function () {
    const d = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'], smooth: 'ema' });
    const svg = await renderSvg(curveSpec(d, { title: 'methods: actor/entropy' }));
    assert.doesNotThrow(() => new Resvg(svg)); // a real SVG parser
    const texts = svgTexts(svg);
    for (const t of ['GRPO', 'Clip-Higher', 'Clip-Free', 'method', 'step', 'actor/entropy (EMA, beta 0.6)', 'methods: actor/entropy'])
      assert.ok(texts.includes(t), `no <text>${t}</text> in ${JSON.stringify(texts)}`);
    assert.match(svg, /Subtitle text 'mean ± std over jobs; jobs: GRPO 3, Clip-Higher 3, Clip-Free 2; not drawn: 4 jobs \(1 failed, 3 missing\)'/);
    assert.ok(!texts.includes('Entropy-Adv'));
    // one line and one band per series, in legend order
    const marks = (kind: string) =>
      [...svg.matchAll(new RegExp(`<path aria-label="[^"]*method: ([^"]+)" role="graphics-symbol" aria-roledescription="${kind} mark"`, 'g'))].map((m) => m[1]);
    assert.deepEqual(marks('line'), ['GRPO', 'Clip-Higher', 'Clip-Free']);
    assert.deepEqual(marks('area'), ['GRPO', 'Clip-Higher', 'Clip-Free']);
  });

  it('the subtitle: one count when every line has as many jobs; a long one wraps at commas instead of widening the figure', () => {
    const d = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'] });
    assert.equal(curveSubtitle({ ...d, notDrawn: [], jobs: { GRPO: 3, 'Clip-Higher': 3, 'Clip-Free': 3 } }), 'mean ± std over jobs; 3 jobs per line');
    const groups = Array.from({ length: 18 }, (_, i) => `Pos-Adv-Reweight (variant ${i})`);
    const many = { ...d, groups, jobs: Object.fromEntries(groups.map((g, i) => [g, 1 + (i % 3)])) };
    const lines = wrapAtCommas(curveSubtitle(many), 90);
    assert.ok(lines.length > 1 && lines.every((l) => l.length <= 90), JSON.stringify(lines));
    assert.equal(lines.join(' '), curveSubtitle(many));
    assert.deepEqual(wrapAtCommas('a, b, c', 3), ['a,', 'b,', 'c']);
    assert.deepEqual(wrapAtCommas('a, b, c', 4), ['a,', 'b, c']);
    assert.deepEqual(wrapAtCommas('a very long item, b', 5), ['a very long item,', 'b']);
  });

  it('more than 10 lines get 20 colours (the default palette has 10: Table 2 has 19 rows)', () => {
    const d = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'] });
    const scheme = (spec: unknown) => JSON.stringify(spec).match(/"scheme":"([^"]+)"/)?.[1];
    assert.equal(scheme(curveSpec(d)), undefined);
    const groups = Array.from({ length: 11 }, (_, i) => `m${i}`);
    assert.equal(scheme(curveSpec({ ...d, groups })), 'tableau20');
  });

  it('the PNG is the SVG size times the scale, with its text drawn in a system font', async function () {
    const d = curveData(grid.plan, grid.records, { metric: 'actor/entropy', group: ['method'] });
    const svg = await renderSvg(curveSpec(d));
    const { width, height } = svgSize(svg);
    const png = svgToPng(svg, { scale: 2 });
    assert.deepEqual(pngSize(png), { width: Math.round(width * 2), height: Math.round(height * 2) });
    assert.deepEqual(pngSize(svgToPng(svg, { scale: 1 })), { width: Math.round(width), height: Math.round(height) });
    // without fonts resvg drops the text: the pictures must differ
    const bare = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: false } }).render().asPng();
    assert.notDeepEqual(Buffer.from(png), Buffer.from(bare));
    assert.throws(() => pngSize(new Uint8Array(30)), /not a PNG/);
  });

  it('file names from metric names', function () {
    assert.deepEqual(['actor/entropy', 'eval:benchmarks.id-val.avg_at_k', '///'].map(slug), ['actor_entropy', 'eval_benchmarks.id-val.avg_at_k', 'metric']);
  });
});
