// compareRuns: the verdict `rlgrid reproduce` prints, on real metrics.jsonl
// rows (fixture.ts) and tampered copies of them.
import assert from 'node:assert/strict';
import { compareRuns } from '../../src/report/compare.ts';
import type { MetricRow } from '../../src/report/types.ts';
import { metricsRows } from './fixture.ts';

const copy = (rows: MetricRow[]): MetricRow[] => rows.map((r) => ({ ...r }));

describe('report/compare: compareRuns', function () {
  const a = metricsRows(0, 1);

  it('a copy is bit-exact, wall times aside', function () {
    const b = copy(a);
    for (const r of b) r['time/step_s'] = 99; // wall time never counts
    assert.deepEqual(compareRuns(a, b), { verdict: 'bit-exact', firstDifferentStep: null, key: null, exact: null, beyond: null, steps: 30 });
  });

  it('one ulp at step 17 is different without a tolerance, within-tolerance with one', function () {
    const b = copy(a);
    const v = b[16]['actor/entropy'] as number;
    b[16]['actor/entropy'] = v + Number.EPSILON * v;
    const strict = compareRuns(a, b);
    assert.equal(strict.verdict, 'different');
    assert.equal(strict.firstDifferentStep, 17);
    assert.equal(strict.key, 'actor/entropy');
    const loose = compareRuns(a, b, { tolerance: 1e-9 });
    assert.equal(loose.verdict, 'within-tolerance');
    assert.equal(loose.firstDifferentStep, 17);
    assert.deepEqual(loose.exact, { step: 17, key: 'actor/entropy', a: v, b: v + Number.EPSILON * v });
    assert.equal(loose.beyond, null);
  });

  it('reports the first step beyond the tolerance, after an earlier small difference', function () {
    const b = copy(a);
    b[4]['critic/score/mean'] = (b[4]['critic/score/mean'] as number) * (1 + 1e-7);
    b[9]['actor/pg_clipfrac'] = 0.5;
    const r = compareRuns(a, b, { tolerance: 1e-6 });
    assert.equal(r.verdict, 'different');
    assert.equal(r.firstDifferentStep, 10);
    assert.equal(r.key, 'actor/pg_clipfrac');
    assert.equal(r.exact!.step, 5);
    assert.equal(r.exact!.key, 'critic/score/mean');
  });

  it('at one step, the first key in sorted order is named', function () {
    const b = copy(a);
    b[2]['probe/entropy_delta'] = 1;
    b[2]['actor/entropy_ema'] = 1;
    assert.equal(compareRuns(a, b).key, 'actor/entropy_ema');
  });

  it('a missing step, a missing key or null against a number is different', function () {
    assert.deepEqual(
      [compareRuns(a, a.slice(0, 29)).firstDifferentStep, compareRuns(a, a.slice(0, 29)).key],
      [30, 'actor/entropy'],
    );
    const noKey = copy(a);
    delete noKey[0]['actor/pg_clipfrac'];
    assert.deepEqual([compareRuns(a, noKey, { tolerance: 1 }).verdict, compareRuns(a, noKey).key], ['different', 'actor/pg_clipfrac']);
    const nul = copy(a);
    nul[3]['actor/entropy'] = null;
    assert.equal(compareRuns(a, nul, { tolerance: 1 }).firstDifferentStep, 4);
    // null against null (probe/entropy_delta at step 1) is the same
    assert.equal(a[0]['probe/entropy_delta'], null);
  });

  it('NaN equals NaN; 0 and -0 differ (bit-exact means the same bits)', function () {
    const x: MetricRow[] = [{ step: 1, v: NaN }, { step: 2, v: 0 }];
    assert.equal(compareRuns(x, [{ step: 1, v: NaN }, { step: 2, v: 0 }]).verdict, 'bit-exact');
    const r = compareRuns(x, [{ step: 1, v: NaN }, { step: 2, v: -0 }], { tolerance: 0.1 });
    assert.deepEqual([r.verdict, r.firstDifferentStep], ['within-tolerance', 2]);
  });

  it('other keys can be ignored by prefix or by name', function () {
    const b = copy(a);
    for (const r of b) r['probe/entropy_delta'] = 7;
    assert.equal(compareRuns(a, b).verdict, 'different');
    assert.equal(compareRuns(a, b, { ignore: ['time/', 'probe/'] }).verdict, 'bit-exact');
    assert.equal(compareRuns(a, b, { ignore: ['time/', 'probe/entropy_delta'] }).verdict, 'bit-exact');
  });
});
