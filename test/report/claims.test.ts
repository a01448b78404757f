// Claims judged over fixture run directories: verdicts, the interval behind
// each, and the rule that a claim whose interval includes zero never passes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Claim } from '../../src/grid/types.ts';
import { checkClaims, claimsSummary, failedClaims, renderClaimsTerm, type ClaimResult } from '../../src/report/claims.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { methodsFixture, tmpDir, writeFixture } from './fixture.ts';

const CH = { method: 'Clip-Higher' };
const GRPO = { method: 'GRPO' };

const CLAIMS: Claim[] = [
  { name: 'Clip-Higher keeps entropy above GRPO', metric: 'entropy_ema', expect: { greater: CH, than: GRPO } },
  { name: 'GRPO keeps entropy above Clip-Higher', metric: 'final.entropy_ema', expect: { greater: GRPO, than: CH } },
  { name: 'GRPO is better out of domain', metric: 'selected.average_ood.avg_at_k', expect: { greater: GRPO, than: CH }, gate: false, note: 'inside the seed spread' },
  { name: 'by more than 0.06', metric: 'entropy_ema', expect: { greater: CH, than: GRPO, margin: 0.06 } },
  { name: 'GRPO ends lower than Clip-Free', metric: 'actor/entropy@last', expect: { less: GRPO, than: { method: 'Clip-Free' } } },
  { name: 'same number of steps', metric: 'steps', expect: { greater: GRPO, than: CH } },
  { name: 'probe entropy in [0.5, 0.9]', metric: 'probe_entropy@last3', expect: { within: [0.5, 0.9], of: GRPO } },
  { name: 'probe entropy in [0.8, 0.9]', metric: 'probe_entropy@last3', expect: { within: [0.8, 0.9], of: GRPO } },
  { name: 'probe entropy in [0.712, 0.9]', metric: 'probe_entropy@last3', expect: { within: [0.712, 0.9], of: GRPO } },
  { name: 'entropy falls as accuracy rises', metric: 'probe_entropy', expect: { correlation: 'benchmarks.id-val.avg_at_k', sign: 'negative', of: GRPO } },
  { name: 'entropy rises with OOD accuracy', metric: 'probe_entropy', expect: { correlation: 'benchmarks.ood-logic.avg_at_k', sign: 'positive', of: { method: 'Clip-Free' } } },
  { name: 'one seed', metric: 'probe_entropy', expect: { correlation: 'benchmarks.id-val.avg_at_k', sign: 'negative', of: { method: 'GRPO', seed: 1 } } },
  { name: 'never ran', metric: 'entropy_ema', expect: { greater: { method: 'Entropy-Adv' }, than: GRPO } },
  { name: 'nothing finished yet', metric: 'final.entropy_ema', expect: { within: [0, 1], of: { method: 'Entropy-Adv' } } },
  { name: 'typo in metric', metric: 'entropy_emma', expect: { less: GRPO, than: CH } },
  { name: 'typo in axis', metric: 'entropy_ema', expect: { less: { methd: 'GRPO' }, than: CH } },
  { name: 'unknown label', metric: 'entropy_ema', expect: { less: { method: 'PPO' }, than: CH } },
];

/** The methods fixture with these claims, judged once for a describe block; byName looks a result up. */
function judgedMethods(claims: Claim[]): { results: () => ClaimResult[]; byName: (n: string) => ClaimResult } {
  let runs: string;
  let results: ClaimResult[] = [];
  before(function () {
    runs = tmpDir();
    methodsFixture(runs, { claims });
    const { plan, records } = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
    results = checkClaims(plan, records);
  });
  after(function () {
    fs.rmSync(runs, { recursive: true, force: true });
  });
  return { results: () => results, byName: (n) => results.find((r) => r.name === n)! };
}

describe('report/claims', function () {
  const judged = judgedMethods(CLAIMS);
  const byName = judged.byName;

  it('greater: holds when the whole Welch interval is above zero', function () {
    // 0.678 - 0.621 = 0.057; var 9e-6 per side, se = 0.0024495, df = 4, t = 2.7764 -> ± 0.0068008
    const r = byName('Clip-Higher keeps entropy above GRPO');
    assert.equal(r.verdict, 'holds');
    assert.equal(r.source, 'result.json final.entropy_ema');
    assert.equal(r.estimate!.toFixed(6), '0.057000');
    assert.deepEqual([r.lo!.toFixed(6), r.hi!.toFixed(6)], ['0.050199', '0.063801']);
    assert.equal(r.evidence, 'diff +0.057 [0.0502, 0.0638] (95% Welch): method=Clip-Higher 0.678 (n=3) vs method=GRPO 0.621 (n=3)');
  });

  it('the reverse claim is contradicted', function () {
    const r = byName('GRPO keeps entropy above Clip-Higher');
    assert.equal(r.verdict, 'contradicted');
    assert.equal(r.evidence, 'diff -0.057 [-0.0638, -0.0502] (95% Welch): method=GRPO 0.621 (n=3) vs method=Clip-Higher 0.678 (n=3)');
  });

  it('an interval that includes zero is "not shown", even though the means differ in the claimed direction', function () {
    // 0.23 - 0.22 = 0.01, se = 0.0040825, df = 4 -> [-0.001335, 0.021335]
    const r = byName('GRPO is better out of domain');
    assert.equal(r.verdict, 'not shown');
    assert.equal(r.evidence, 'diff +0.01 [-0.001335, 0.02133] (95% Welch): method=GRPO 0.23 (n=3) vs method=Clip-Higher 0.22 (n=3)');
  });

  it('a margin must be cleared by the whole interval', function () {
    assert.equal(byName('by more than 0.06').verdict, 'not shown');
  });

  it('less, on a training series (last step), counting the failed job as failed', function () {
    const r = byName('GRPO ends lower than Clip-Free');
    assert.equal(r.verdict, 'holds');
    assert.equal(r.source, 'training series actor/entropy (last)');
    assert.equal(r.evidence, 'diff -0.1185 [-0.126, -0.111] (95% Welch): method=GRPO 0.606 (n=3) vs method=Clip-Free 0.7245 (n=2; failed 1)');
  });

  it('identical values on both sides (a zero-width interval at 0) are not shown', function () {
    const r = byName('same number of steps');
    assert.deepEqual([r.verdict, r.estimate, r.lo, r.hi], ['not shown', 0, 0, 0]);
  });

  it('within: the t interval of the mean inside the band holds, outside it is contradicted, across its edge not shown', function () {
    // last-3 probe entropy of GRPO: 0.712, 0.714, 0.716; se 0.0011547, t(2) = 4.3027 -> ± 0.0049683
    const inside = byName('probe entropy in [0.5, 0.9]');
    assert.equal(inside.verdict, 'holds');
    assert.equal(inside.source, 'eval series probe_entropy (mean of last 3)');
    assert.deepEqual([inside.lo!.toFixed(6), inside.hi!.toFixed(6)], ['0.709032', '0.718968']);
    assert.equal(byName('probe entropy in [0.8, 0.9]').verdict, 'contradicted');
    assert.equal(byName('probe entropy in [0.712, 0.9]').verdict, 'not shown');
  });

  it('correlation within runs: a job with fewer than 5 evaluations gives no rho (these jobs have 4)', function () {
    const neg = byName('entropy falls as accuracy rises');
    assert.equal(neg.verdict, 'not shown');
    assert.equal(neg.source, 'eval series probe_entropy vs eval series benchmarks.id-val.avg_at_k');
    assert.equal(neg.evidence, 'Spearman rho per job (a job needs at least 5 evaluations): needs at least 2 finished jobs per group: method=GRPO — (n=0; no value 3)');
    assert.equal(byName('entropy rises with OOD accuracy').verdict, 'not shown');
  });

  it('fewer than two finished jobs in a group is not shown, saying why', function () {
    assert.equal(byName('one seed').verdict, 'not shown');
    assert.equal(
      byName('one seed').evidence,
      'Spearman rho per job (a job needs at least 5 evaluations): needs at least 2 finished jobs per group: method=GRPO,seed=1 — (n=0; no value 1)',
    );
    assert.equal(
      byName('never ran').evidence,
      'needs at least 2 finished jobs per group: method=Entropy-Adv — (n=0; missing 3) vs method=GRPO 0.621 (n=3)',
    );
  });

  it('a claim none of whose jobs has finished is not shown, not invalid (its metric cannot be looked up yet)', function () {
    const r = byName('nothing finished yet');
    assert.equal(r.verdict, 'not shown');
    assert.equal(r.evidence, 'needs at least 2 finished jobs per group: method=Entropy-Adv — (n=0; missing 3)');
    assert.equal(r.groups[0]!.planned, 3);
  });

  it('an unknown metric, axis or label makes the claim invalid', function () {
    assert.equal(byName('typo in metric').verdict, 'invalid');
    assert.match(byName('typo in metric').evidence, /^metric "entropy_emma" not found; result\.json numbers: steps, best_step, /);
    assert.equal(byName('typo in axis').evidence, 'unknown axis "methd" (axes: method, seed)');
    assert.equal(byName('unknown label').evidence, 'no job has method=PPO (labels: GRPO, Clip-Higher, Clip-Free, Entropy-Adv)');
  });

  it('only gated claims that do not hold fail; gate: false is reported but never fails', function () {
    const failed = failedClaims(judged.results()).map((r) => r.name);
    assert.ok(!failed.includes('GRPO is better out of domain'));
    assert.deepEqual(failed, [
      'GRPO keeps entropy above Clip-Higher',
      'by more than 0.06',
      'same number of steps',
      'probe entropy in [0.8, 0.9]',
      'probe entropy in [0.712, 0.9]',
      'entropy falls as accuracy rises',
      'entropy rises with OOD accuracy',
      'one seed',
      'never ran',
      'nothing finished yet',
      'typo in metric',
      'typo in axis',
      'unknown label',
    ]);
    assert.equal(claimsSummary(judged.results()), '17 claims: 3 hold, 2 contradicted, 9 not shown, 3 invalid; 13 gated claims failed');
  });

  it('the terminal table', function () {
    assert.equal(
      renderClaimsTerm(judged.results().slice(0, 3)),
      [
        '┌───┬──────────────────────────────────────┬───────────────────────────────┬──────────────┬───────┬───────────────────────────┐',
        '│ # │ claim                                │ metric                        │ verdict      │ gated │ estimate [95% CI]         │',
        '├───┼──────────────────────────────────────┼───────────────────────────────┼──────────────┼───────┼───────────────────────────┤',
        '│ 1 │ Clip-Higher keeps entropy above GRPO │ entropy_ema                   │ holds        │ yes   │ 0.057 [0.0502, 0.0638]    │',
        '│ 2 │ GRPO keeps entropy above Clip-Higher │ final.entropy_ema             │ contradicted │ yes   │ -0.057 [-0.0638, -0.0502] │',
        '│ 3 │ GRPO is better out of domain         │ selected.average_ood.avg_at_k │ not shown    │ no    │ 0.01 [-0.001335, 0.02133] │',
        '└───┴──────────────────────────────────────┴───────────────────────────────┴──────────────┴───────┴───────────────────────────┘',
        '1. diff +0.057 [0.0502, 0.0638] (95% Welch): method=Clip-Higher 0.678 (n=3) vs method=GRPO 0.621 (n=3)',
        '   metric: result.json final.entropy_ema',
        '2. diff -0.057 [-0.0638, -0.0502] (95% Welch): method=GRPO 0.621 (n=3) vs method=Clip-Higher 0.678 (n=3)',
        '   metric: result.json final.entropy_ema',
        '3. diff +0.01 [-0.001335, 0.02133] (95% Welch): method=GRPO 0.23 (n=3) vs method=Clip-Higher 0.22 (n=3)',
        '   metric: result.json selected.average_ood.avg_at_k',
        '   note: inside the seed spread',
        '3 claims: 1 hold, 1 contradicted, 1 not shown; 1 gated claim failed',
        '',
      ].join('\n'),
    );
  });
});

describe('report/claims: paired (below / above) and ordered (increasing / decreasing)', function () {
  const CF = { method: 'Clip-Free' };
  const PAIRED_AND_ORDERED: Claim[] = [
    { name: 'probe entropy ends below rollout entropy', metric: 'probe_entropy@last', expect: { below: 'actor/entropy@last', of: GRPO } },
    { name: 'by more than 0.01', metric: 'probe_entropy@last', expect: { below: 'actor/entropy@last', of: GRPO, margin: 0.01 } },
    { name: 'probe entropy ends above rollout entropy', metric: 'probe_entropy@last', expect: { above: 'actor/entropy@last', of: GRPO } },
    { name: 'probe entropy falls from the base model', metric: 'probe_entropy@last', expect: { below: 'probe_entropy@first', of: CH } },
    { name: 'paired, one seed', metric: 'probe_entropy@last', expect: { below: 'probe_entropy@first', of: { method: 'GRPO', seed: 1 } } },
    { name: 'entropy rises GRPO < Clip-Higher < Clip-Free', metric: 'actor/entropy@last', expect: { increasing: [GRPO, CH, CF] } },
    { name: 'entropy falls GRPO > Clip-Higher > Clip-Free', metric: 'actor/entropy@last', expect: { decreasing: [GRPO, CH, CF] } },
    { name: 'rises by more than 0.06 per step', metric: 'actor/entropy@last', expect: { increasing: [GRPO, CH], margin: 0.06 } },
    { name: 'ordered, a group never ran', metric: 'actor/entropy@last', expect: { increasing: [GRPO, { method: 'Entropy-Adv' }] } },
  ];
  const { byName } = judgedMethods(PAIRED_AND_ORDERED);

  it('below: the per-job difference of two metrics of the same job, with a one-sample t interval', function () {
    // GRPO seed s: probe@30 = 0.59 + 0.002 s, actor/entropy@30 = 0.6 + 0.003 s -> -0.011, -0.012, -0.013
    // mean -0.012, sd 0.001, se 0.00057735, t(2) = 4.3027 -> ± 0.0024842
    const r = byName('probe entropy ends below rollout entropy');
    assert.equal(r.kind, 'below');
    assert.equal(r.verdict, 'holds');
    assert.equal(r.estimate!.toFixed(6), '-0.012000');
    assert.deepEqual([r.lo!.toFixed(6), r.hi!.toFixed(6)], ['-0.014484', '-0.009516']);
    assert.equal(r.source, 'eval series probe_entropy (last) minus training series actor/entropy (last), per job');
    assert.equal(r.evidence, 'paired diff -0.012 [-0.01448, -0.009516] (95% t over jobs): probe_entropy@last minus actor/entropy@last per job, method=GRPO -0.012 (n=3)');
    assert.equal(byName('by more than 0.01').verdict, 'not shown');
    assert.equal(byName('probe entropy ends above rollout entropy').verdict, 'contradicted');
  });

  it('below: pairing judges a change that is the same in every seed (zero-width interval) and needs two jobs', function () {
    // Clip-Higher: probe falls by (120 - 20) x 30 / 10000 = 0.3 in every seed
    const r = byName('probe entropy falls from the base model');
    assert.deepEqual([r.verdict, r.estimate!.toFixed(6), r.lo!.toFixed(6), r.hi!.toFixed(6)], ['holds', '-0.300000', '-0.300000', '-0.300000']);
    assert.equal(byName('paired, one seed').verdict, 'not shown');
    assert.match(byName('paired, one seed').evidence, /^paired difference per job: needs at least 2 finished jobs per group/);
  });

  it('increasing: every consecutive step must hold; the estimate is the weakest step', function () {
    // actor/entropy@30 = 0.6 + 0.06 mi + 0.003 s; Clip-Free has seeds 1 and 2 only (seed 3 failed)
    const r = byName('entropy rises GRPO < Clip-Higher < Clip-Free');
    assert.equal(r.kind, 'increasing');
    assert.equal(r.verdict, 'holds');
    assert.equal(r.groups.length, 3);
    // step 1: 0.666 - 0.606 = 0.06 ± 0.0068008 (as the greater test above); step 2: 0.7245 - 0.666 = 0.0585, wider
    assert.equal(r.estimate!.toFixed(6), '0.058500');
    assert.ok(r.lo! < 0.06 - 0.0068008 && r.lo! > 0, `weakest step's lower bound ${r.lo}`);
    assert.match(r.evidence, /^method=Clip-Higher - method=GRPO \+0\.06 \[0\.0532, 0\.0668\]; method=Clip-Free - method=Clip-Higher \+0\.0585 \[/);
    // contradicted: the estimate is the most contradicting step (the larger lower bound for decreasing)
    const falls = byName('entropy falls GRPO > Clip-Higher > Clip-Free');
    assert.deepEqual([falls.verdict, falls.estimate!.toFixed(6), falls.lo!.toFixed(6)], ['contradicted', '0.060000', '0.053199']);
    assert.equal(byName('rises by more than 0.06 per step').verdict, 'not shown');
    assert.equal(byName('ordered, a group never ran').verdict, 'not shown');
    assert.match(byName('ordered, a group never ran').evidence, /^needs at least 2 finished jobs per group: .*method=Entropy-Adv — \(n=0; missing 3\)/);
  });
});

describe('report/claims: a selector whose labels exist but whose combination was never planned', function () {
  it('is invalid (no run can fill it), not "not shown"', function () {
    const runs = tmpDir();
    try {
      const job = (method: string, seed: number, mi: number) => ({
        labels: { method, seed: String(seed) },
        patch: { seed, ...(mi ? { train: { clip: { low: 0.2, high: 0.28 } } } : {}) },
        outcome: 'done' as const,
        mi,
        seed,
      });
      // Clip-Higher seed 2 is not planned (as if excluded)
      const jobs = [job('GRPO', 1, 0), job('GRPO', 2, 0), job('Clip-Higher', 1, 1)];
      const claims: Claim[] = [
        { name: 'order through a hole', metric: 'actor/entropy@last', expect: { increasing: [GRPO, { method: 'Clip-Higher', seed: 2 }] } },
        { name: 'paired on a hole', metric: 'probe_entropy@last', expect: { below: 'probe_entropy@first', of: { method: 'Clip-Higher', seed: 2 } } },
      ];
      writeFixture(runs, 'holes', ['method', 'seed'], jobs, { claims });
      const { plan, records } = loadGridRecords({ kind: 'name', name: 'holes' }, runs);
      const results = checkClaims(plan, records);
      assert.deepEqual(results.map((r) => [r.verdict, r.evidence]), [
        ['invalid', 'no planned job matches method=Clip-Higher,seed=2'],
        ['invalid', 'no planned job matches method=Clip-Higher,seed=2'],
      ]);
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
