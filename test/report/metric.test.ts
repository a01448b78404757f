// How metric names resolve (docs/reports.md, "Metric names").
import assert from 'node:assert/strict';
import { lookupPath, resolveMetric, scalarOf, seriesOf } from '../../src/report/metric.ts';
import type { JobRecord } from '../../src/report/types.ts';
import { evalRows, metricsRows, resultOf } from './fixture.ts';
import { UserError } from '../../src/util/errors.ts';

function record(): JobRecord {
  const result = resultOf(0, 2);
  // a benchmark whose name has a dot
  result.selected.benchmarks['math.500'] = { domain: 'id', avg_at_k: 0.125, pass_at_k: 0.5 };
  return { id: 'x', labels: {}, status: 'done', metrics: metricsRows(0, 2), evals: evalRows(0, 2), result };
}

describe('report/metric: metric names', function () {
  const r = record();
  const resolve = (name: string) => resolveMetric(name, [r]);

  it('a result.json dotted path is read first', function () {
    const m = resolve('final.probe_entropy_last3');
    assert.deepEqual([m.source, m.path], ['result', 'final.probe_entropy_last3']);
    assert.equal(scalarOf(m, r), r.result!.final.probe_entropy_last3);
    assert.equal(scalarOf(resolve('selected.average_id.avg_at_k'), r), 0.265);
  });

  it('then an eval.jsonl series, then a metrics.jsonl key', function () {
    const p = resolve('probe_entropy'); // result.json has final.probe_entropy, but no top-level probe_entropy
    assert.deepEqual([p.source, p.path], ['eval', 'probe_entropy']);
    assert.deepEqual(seriesOf(p, r).map((x) => x.step), [0, 10, 20, 30]);
    assert.equal(resolve('benchmarks.id-val.ngram_diversity.mean').source, 'eval');
    const a = resolve('actor/entropy');
    assert.deepEqual([a.source, a.path], ['metrics', 'actor/entropy']);
  });

  it('last, a bare name is looked up under result.json final', function () {
    const m = resolve('entropy_ema');
    assert.deepEqual([m.source, m.path], ['result', 'final.entropy_ema']);
  });

  it('an explicit source picks one place only', function () {
    assert.deepEqual([resolve('result:final.probe_entropy').source, resolve('eval:probe_entropy').source], ['result', 'eval']);
    assert.throws(() => resolve('metrics:probe_entropy'), (e: Error) => e instanceof UserError && /not found in metrics/.test(e.message));
  });

  it('keys containing dots resolve (greedy matching)', function () {
    assert.equal(scalarOf(resolve('selected.benchmarks.math.500.pass_at_k'), r), 0.5);
    assert.equal(lookupPath({ a: { 'b.c': { d: 1 } }, 'a.b': 2 }, 'a.b.c.d'), 1);
    assert.equal(lookupPath({ a: { 'b.c': { d: 1 } }, 'a.b': 2 }, 'a.b'), 2);
  });

  it('a series becomes one number through its reducer', function () {
    // probe entropy of GRPO seed 2 at steps 0, 10, 20, 30: 0.954, 0.834, 0.714, 0.594
    const v = (name: string) => Number(scalarOf(resolve(name), r)!.toFixed(9));
    assert.deepEqual(
      ['probe_entropy', 'probe_entropy@last', 'probe_entropy@first', 'probe_entropy@min', 'probe_entropy@max', 'probe_entropy@mean', 'probe_entropy@last2'].map(v),
      [0.594, 0.594, 0.954, 0.594, 0.954, 0.774, 0.654],
    );
    assert.throws(() => resolve('probe_entropy@median'), /unknown reducer @median/);
  });

  it('@lastN over evaluations leaves out step 0, the base model (training series keep every step)', function () {
    // 4 evaluations: last3 = steps 10, 20, 30 either way; last4 and last9 stop at step 10
    const v = (name: string) => Number(scalarOf(resolve(name), r)!.toFixed(9));
    assert.deepEqual(['probe_entropy@last3', 'probe_entropy@last4', 'probe_entropy@last9'].map(v), [0.714, 0.714, 0.714]);
    // a job with one trained evaluation: its @last3 is that evaluation alone
    const short: JobRecord = { ...r, evals: r.evals.slice(0, 2) };
    assert.equal(Number(scalarOf(resolve('probe_entropy@last3'), short)!.toFixed(9)), 0.834);
    // only step 0 (nothing trained yet): the base model's value rather than nothing
    assert.equal(Number(scalarOf(resolve('probe_entropy@last3'), { ...r, evals: r.evals.slice(0, 1) })!.toFixed(9)), 0.954);
    // metrics series (steps 1..30): @last30 is the mean of every step
    const all = r.metrics.map((m) => m['actor/entropy'] as number);
    assert.ok(Math.abs(scalarOf(resolve('actor/entropy@last30'), r)! - all.reduce((a, b) => a + b) / all.length) < 1e-12);
  });

  it('series drop nulls and use the row position when a row has no step', function () {
    const m = resolve('probe/entropy_delta');
    assert.equal(seriesOf(m, r)[0].step, 2); // null at step 1
    const rows = { ...r, metrics: [{ v: 3 }, { v: 1 }] };
    assert.deepEqual(seriesOf(resolveMetric('v', [rows]), rows), [{ step: 1, value: 3 }, { step: 2, value: 1 }]);
  });

  it('an object or an unknown name is an error that says what there is', function () {
    assert.throws(() => resolve('selected.average_id'), /result\.json selected\.average_id is an object; pick one of: avg_at_k, pass_at_k/);
    assert.throws(() => resolve('entropy'), /eval series: probe_entropy, probe_answer_entropy, .*training metrics: actor\/entropy, /);
  });
});
