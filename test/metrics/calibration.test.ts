import assert from 'node:assert/strict';
import { CALIBRATION_HISTOGRAM, calibrationSummary, histogram, meanTokenLogprob } from '../../src/metrics/calibration.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('metrics/calibration', () => {
  it('mean per-token log-prob of a response', () => {
    close(meanTokenLogprob([-0.5, -1.5, -1]), -1);
    assert.ok(Number.isNaN(meanTokenLogprob([])));
  });

  it('summarises correct and incorrect responses separately (type-7 quartiles)', () => {
    const s = calibrationSummary([
      { meanLogprob: -0.1, correct: true },
      { meanLogprob: -2.0, correct: false },
      { meanLogprob: -0.5, correct: true },
      { meanLogprob: -6.0, correct: false },
      { meanLogprob: -0.3, correct: true },
      { meanLogprob: NaN, correct: true },
      { meanLogprob: -1.0, correct: true },
      { meanLogprob: -0.2, correct: false },
    ]);
    assert.equal(s.dropped, 1);
    // correct, sorted: -1.0 -0.5 -0.3 -0.1; mean -0.475
    // q1 at (4-1)*0.25 = 0.75: -1.0 + 0.75*0.5 = -0.625; median at 1.5: -0.4; q3 at 2.25: -0.3 + 0.25*0.2 = -0.25
    assert.equal(s.correct.count, 4);
    close(s.correct.mean, -0.475);
    close(s.correct.q1, -0.625);
    close(s.correct.median, -0.4);
    close(s.correct.q3, -0.25);
    close(s.correct.min, -1.0);
    close(s.correct.max, -0.1);
    // incorrect, sorted: -6 -2 -0.2; mean -8.2/3; q1 at 0.5: -4; median -2; q3 at 1.5: -1.1
    assert.equal(s.incorrect.count, 3);
    close(s.incorrect.mean, -8.2 / 3);
    close(s.incorrect.q1, -4);
    close(s.incorrect.median, -2);
    close(s.incorrect.q3, -1.1);
    close(s.gap, -0.475 + 8.2 / 3);
    // histogram: 20 bins of 0.25 over [-5, 0]
    const hc = s.correct.histogram.counts;
    assert.equal(hc.length, 20);
    // -1.0 -> bin 16 [-1, -0.75); -0.5 and -0.3 -> bin 18 [-0.5, -0.25); -0.1 -> bin 19
    assert.deepEqual(
      hc.map((c, i) => [i, c]).filter(([, c]) => c > 0),
      [
        [16, 1],
        [18, 2],
        [19, 1],
      ],
    );
    const hi = s.incorrect.histogram;
    assert.equal(hi.underflow, 1); // -6
    assert.equal(hi.counts[12], 1); // -2.0 is the left edge of bin 12
    assert.equal(hi.counts[19], 1); // -0.2
  });

  it('an empty group has count 0 and NaN statistics; the gap is NaN', () => {
    const s = calibrationSummary([{ meanLogprob: -1, correct: true }]);
    assert.equal(s.incorrect.count, 0);
    assert.ok(Number.isNaN(s.incorrect.mean) && Number.isNaN(s.incorrect.median));
    assert.ok(Number.isNaN(s.gap));
    assert.equal(s.incorrect.histogram.counts.reduce((a, b) => a + b, 0), 0);
  });

  it('histogram edges: left-closed bins, hi in the last bin, under/overflow outside', () => {
    assert.deepEqual(CALIBRATION_HISTOGRAM, { lo: -5, hi: 0, bins: 20 });
    const h = histogram([-5, 0, -0.25, -4.75, -5.0001, 0.5], { lo: -5, hi: 0, bins: 20 });
    assert.equal(h.edges.length, 21);
    assert.equal(h.edges[0], -5);
    assert.equal(h.edges[20], 0);
    assert.equal(h.counts[0], 1); // -5
    assert.equal(h.counts[1], 1); // -4.75 starts bin 1
    assert.equal(h.counts[19], 2); // -0.25 and 0
    assert.equal(h.underflow, 1);
    assert.equal(h.overflow, 1);
    // bins of 0.1 over [0, 1]: 0.3 lands in [0.3, 0.4) although (0.3 - 0)/0.1 = 2.9999999999999996
    const g = histogram([0.3, 0.7], { lo: 0, hi: 1, bins: 10 });
    assert.equal(g.counts[3], 1);
    assert.equal(g.counts[7], 1);
    assert.throws(() => histogram([1], { lo: 1, hi: 0, bins: 2 }), RangeError);
  });
});
