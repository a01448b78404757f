// grids/table1.yaml: the study's Table 1 across trained models reads the runs
// of table2 and table3, so its jobs must be exactly theirs (same configs,
// hence the same ids and run directories).
import assert from 'node:assert/strict';
import { planGrid } from '../../src/grid/index.ts';
import { REPO } from './helpers.ts';

describe('grids/table1.yaml', () => {
  const t1 = planGrid('grids/table1.yaml', { root: REPO });
  const t2 = planGrid('grids/table2.yaml', { root: REPO });
  const t3 = planGrid('grids/table3.yaml', { root: REPO });
  const ids = (p: typeof t1) => new Set(p.jobs.map((j) => j.id));

  it('is the union of table2 and table3: every job of each, and no other', () => {
    const union = new Set([...ids(t2), ...ids(t3)]);
    assert.deepEqual([...ids(t1)].sort(), [...union].sort());
    // table3's Full row is table2's GRPO N=1: 19 + 11 - 1 = 29 configs, 3 seeds each
    assert.equal(t1.jobs.length, 87);
    assert.deepEqual(t1.duplicates.map((d) => d.labels.method), ['Full', 'Full', 'Full']);
  });

  it('uses the across-models layout and states its claims across runs, none gated', () => {
    assert.deepEqual(t1.table, { layout: 'table1', rows: 'method' });
    assert.equal(t1.claims.length, 4);
    for (const c of t1.claims) {
      assert.equal(c.gate, false, c.name);
      assert.equal(c.metric, 'final.entropy_ema');
      assert.ok('correlation' in c.expect && !('of' in c.expect) && c.expect.correlation.startsWith('selected.'), c.name);
    }
  });

  it("world v2's phrase/table1 is the union of phrase/table2 and phrase/table3 the same way", () => {
    const p1 = planGrid('grids/phrase/table1.yaml', { root: REPO });
    const p2 = planGrid('grids/phrase/table2.yaml', { root: REPO });
    const p3 = planGrid('grids/phrase/table3.yaml', { root: REPO });
    assert.deepEqual([...ids(p1)].sort(), [...new Set([...ids(p2), ...ids(p3)])].sort());
    assert.equal(p1.jobs.length, 87);
    // a different world and base model: no job shared with arith's grids
    assert.equal([...ids(p1)].filter((id) => ids(t1).has(id)).length, 0);
    assert.deepEqual(p1.claims.map((c) => c.name), t1.claims.map((c) => c.name));
  });
});
