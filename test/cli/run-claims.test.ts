// The end of `rlgrid run`: a grid's claims judged over its jobs and printed as
// `rlgrid check` prints them; a gated claim that does not hold exits 1 once
// every job of the grid is done. Real processes, the test job runner, whose
// numbers are known: result.json final.entropy_ema lies in (0.18, 0.55) and
// metrics.jsonl critic/score/mean in [0, 1), whatever the seed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Claim, Plan } from '../../src/grid/types.ts';
import { runCli, seedPlan, testEnv, tmpDir, writePlan } from '../exec/fixtures.ts';

const HOLDS: Claim = { name: 'entropy EMA is a fraction', metric: 'entropy_ema', expect: { within: [0, 1], of: {} } };
const FAILS: Claim = { name: 'mean score above 5', metric: 'metrics:critic/score/mean@mean', expect: { within: [5, 6], of: {} } };

describe('rlgrid run: claims at the end', function () {
  this.timeout(120_000);
  const tmp = tmpDir('rlgrid-run-claims-');
  const runs = path.join(tmp, 'runs');
  const env = testEnv();
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The same two jobs (seeds 1 and 2, 4 steps) under another grid name and claims: done jobs are shared, not re-run. */
  const grid = (name: string, claims: Claim[]): string => {
    const plan: Plan = { ...seedPlan(name, [1, 2], 4), claims };
    return writePlan(tmp, plan);
  };
  const run = (file: string, ...args: string[]) => runCli(['run', file, '--runs-dir', runs, ...args], env);

  it('prints the verdicts (as rlgrid check does) and exits 0 when every gated claim holds', async () => {
    const r = await run(grid('holds', [HOLDS]));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^holds: 2 done$/m);
    const at = r.stdout.indexOf('claims of holds (rlgrid check holds):\n');
    assert.ok(at > 0, r.stdout);
    const check = await runCli(['check', 'holds', '--runs-dir', runs], env);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(r.stdout.slice(at).split('\n').slice(1).join('\n'), check.stdout);
    assert.match(check.stdout, /│ 1 │ entropy EMA is a fraction │ entropy_ema │ holds +│ yes/);
    assert.match(check.stdout, /^1 claim: 1 hold; no gated claim failed$/m);
  });

  it('exits 1 when a gated claim does not hold; --no-check skips the claims', async () => {
    const file = grid('fails', [HOLDS, FAILS]);
    let r = await run(file);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /^fails: 2 done$/m); // the jobs were fine (done in the first test, skipped here)
    assert.match(r.stdout, /│ 2 │ mean score above 5 +│ metrics:critic\/score\/mean@mean │ contradicted │ yes/);
    assert.match(r.stdout, /^2 claims: 1 hold, 1 contradicted; 1 gated claim failed$/m);

    r = await run(file, '--no-check');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stdout, /claims of |gated claim/);
  });

  it('a claim with gate: false is shown but never fails the run', async () => {
    const r = await run(grid('ungated', [HOLDS, { ...FAILS, gate: false }]));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /│ 2 │ mean score above 5 +│ metrics:critic\/score\/mean@mean │ contradicted │ no/);
    assert.match(r.stdout, /^2 claims: 1 hold, 1 contradicted; no gated claim failed$/m);
  });

  it('with jobs of the grid not done (--only) the verdicts are provisional and do not set the exit code', async () => {
    const plan: Plan = { ...seedPlan('partial', [11, 12], 4), claims: [HOLDS, FAILS] };
    const r = await run(writePlan(tmp, plan), '--only', 'seed=11');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^partial: 1 done$/m);
    // one finished job: no verdict can be reached (claims need two per group), and a full check would fail
    assert.match(r.stdout, /^2 claims: 2 not shown; 2 gated claims failed$/m);
    assert.match(r.stdout, /^1 of 2 jobs of partial are not done: the verdicts are provisional and do not set the exit code \(rlgrid check partial judges them\)$/m);
    const check = await runCli(['check', 'partial', '--runs-dir', runs], env);
    assert.equal(check.code, 1, check.stderr);
  });

  it('a failed job exits 1 whatever the claims; a dry run and a grid without claims print none', async () => {
    const failing = testEnv({ RLGRID_TEST_FAIL: '7:throw@2' });
    const plan: Plan = { ...seedPlan('broken', [1, 7], 4), claims: [HOLDS] };
    const r = await runCli(['run', writePlan(tmp, plan), '--runs-dir', runs], failing);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /^broken: 1 done, 1 failed$/m);
    assert.match(r.stdout, /^1 of 2 jobs of broken are not done: the verdicts are provisional/m);

    const dry = await run(grid('dry', [FAILS]), '--dry-run');
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    assert.doesNotMatch(dry.stdout, /claims of |gated claim/);

    const none = await run(grid('none', []));
    assert.equal(none.code, 0, none.stderr + none.stdout);
    assert.doesNotMatch(none.stdout, /claims of |gated claim/);
  });
});
