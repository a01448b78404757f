// Reports over jobs run with eval.schedule 'selected' (validation-only
// evaluations between step 0 and the selected and last checkpoints): the
// selected-checkpoint tables are unchanged; correlations, reductions over
// steps and curves of the other benchmarks say what they lack instead of
// computing over three checkpoints as if they were a series.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { curveData, curveSubtitle } from '../../src/report/figure.ts';
import { renderTable } from '../../src/report/format.ts';
import { resolveMetric, scalarOf } from '../../src/report/metric.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { buildTable } from '../../src/report/table.ts';
import type { EvalRow, JobRecord } from '../../src/report/types.ts';
import { methodsFixture, tmpDir } from './fixture.ts';

/** GRPO's jobs as eval.schedule 'selected' writes them: steps 10 and 20 (of 0..30; 30 is selected and last) validation-only. */
function withSelectedSchedule(records: JobRecord[]): JobRecord[] {
  return records.map((r) =>
    r.labels.method !== 'GRPO'
      ? r
      : {
          ...r,
          evals: r.evals.map((e): EvalRow => (e.step === 10 || e.step === 20 ? { ...e, scope: 'validation', benchmarks: { 'id-val': e.benchmarks['id-val'] } } : e)),
        },
  );
}

describe('report: eval.schedule selected', () => {
  const runs = tmpDir();
  after(() => fs.rmSync(runs, { recursive: true, force: true }));
  methodsFixture(runs);
  const { plan, records } = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
  const sparse = withSelectedSchedule(records);

  it('table2 (the selected checkpoint) is the same', () => {
    assert.equal(renderTable(buildTable(plan, sparse), 'json'), renderTable(buildTable(plan, records), 'json'));
  });

  it('table1: only the validation benchmark correlates for those jobs, and a note says why', () => {
    const full = JSON.parse(renderTable(buildTable(plan, records, { layout: 'table1-checkpoints' }), 'json'));
    const t = buildTable(plan, sparse, { layout: 'table1-checkpoints' });
    const j = JSON.parse(renderTable(t, 'json'));
    const grpo = j.rows[0];
    assert.equal(grpo.label, 'GRPO');
    assert.deepEqual(grpo.cells['id-val/rho_avg'], full.rows[0].cells['id-val/rho_avg']);
    // the fixture has 4 checkpoints, under the 5 a within-run correlation needs: every cell is empty
    // here; what the schedule changes is the note, and it must not fill the other cells
    for (const k of ['id-hard/rho_avg', 'ood-logic/rho_pass', 'avg_id/rho_avg', 'avg_ood/rho_pass']) assert.equal(grpo.cells[k].n, 0, k);
    // the other rows are untouched
    assert.deepEqual(j.rows[1], full.rows[1]);
    assert.ok(t.notes.some((n) => /3 job\(s\) evaluated only the validation benchmark.*eval\.schedule: selected/.test(n)), t.notes.join('\n'));
    assert.ok(!buildTable(plan, records, { layout: 'table1-checkpoints' }).notes.some((n) => n.includes('eval.schedule')));
  });

  it('reductions over steps are not computed from the three checkpoints; the last value is', () => {
    const grpo = sparse.find((r) => r.labels.method === 'GRPO')!;
    const orig = records.find((r) => r.id === grpo.id)!;
    const mean = resolveMetric('eval:benchmarks.id-hard.avg_at_k@mean', sparse);
    const last = resolveMetric('eval:benchmarks.id-hard.avg_at_k', sparse);
    assert.equal(scalarOf(mean, grpo), null);
    assert.notEqual(scalarOf(mean, orig), null);
    assert.equal(scalarOf(last, grpo), scalarOf(last, orig));
    // the validation benchmark has every point: its mean is computed
    assert.equal(scalarOf(resolveMetric('eval:benchmarks.id-val.avg_at_k@mean', sparse), grpo), scalarOf(resolveMetric('eval:benchmarks.id-val.avg_at_k@mean', records), orig));
  });

  it('a curve of another benchmark has those jobs at step 0 and 30 only, and its subtitle says so', () => {
    const d = curveData(plan, sparse, { metric: 'eval:benchmarks.id-hard.avg_at_k', group: ['method'] });
    assert.deepEqual(d.points.filter((p) => p.group === 'GRPO').map((p) => p.step), [0, 30]);
    assert.equal(d.sparse, 3);
    assert.match(curveSubtitle(d), /3 job\(s\) only at step 0, the selected and the last checkpoints \(eval\.schedule: selected/);
    const v = curveData(plan, sparse, { metric: 'eval:benchmarks.id-val.avg_at_k', group: ['method'] });
    assert.equal(v.sparse, undefined);
    assert.doesNotMatch(curveSubtitle(v), /schedule/);
  });
});
