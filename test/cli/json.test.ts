// --json on every command that prints data: one envelope, one shape per kind
// of object (grid, job, claim), checked against schema/output.schema.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ROOT, runCli, testEnv, tmpDir } from '../exec/fixtures.ts';
import { methodsFixture } from '../report/fixture.ts';

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/output.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

function valid(out: unknown, what: string): void {
  assert.ok(validate(out), `${what}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`);
}

describe('--json: one envelope and one shape per kind of object, as schema/output.schema.json says', function () {
  this.timeout(120_000);
  let runs: string;
  const env = () => testEnv({ RLGRID_RUNS_DIR: runs });
  const json = async (args: string[], code = 0): Promise<Record<string, any>> => {
    const r = await runCli(args, env());
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    valid(out, args.join(' '));
    return out;
  };

  before(() => {
    runs = tmpDir();
    methodsFixture(runs, {
      claims: [{ name: 'Clip-Higher keeps entropy above GRPO', metric: 'entropy_ema', expect: { greater: { method: 'Clip-Higher' }, than: { method: 'GRPO' } } }],
    });
  });
  after(() => fs.rmSync(runs, { recursive: true, force: true }));

  it('plan, validate: the grid as an object, jobs with a numeric seed and their config', async () => {
    const p = await json(['plan', 'grids/ci/table2.yaml', '--json', '--set', 'train.steps=3']);
    assert.equal(p.format, 'rlgrid.plan');
    assert.equal(p.version, 1);
    assert.deepEqual(Object.keys(p.grid), ['name', 'file', 'hash', 'overrides']);
    assert.deepEqual(p.grid.overrides, ['--set train.steps=3']);
    assert.deepEqual([p.jobs[0].labels.seed, p.jobs[0].seed, p.jobs[0].config.train.steps], ['1', 1, 3]);
    const v = await json(['validate', 'grids/ci/table2.yaml', '--json']);
    assert.deepEqual([v.grids[0].ok, v.grids[0].grid.name, v.grids[0].jobs, v.problems], [true, 'ci-table2', 12, []]);
    const dir = tmpDir();
    try {
      const bad = path.join(dir, 'bad.yaml');
      fs.writeFileSync(bad, 'version: 1\nname: bad\nbase: {train: {stesp: 3}}\n');
      const b = await json(['validate', bad, '--json'], 2);
      assert.equal(b.grids[0].ok, false);
      assert.match(b.problems[0].message, /did you mean "steps"/);
      assert.equal(b.problems[0].line, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('status, ls, check, table, diff read the same grid and job shapes', async () => {
    const st = await json(['status', 'methods', '--json']);
    assert.equal(st.grid.name, 'methods');
    const failed = st.jobs.find((j: { status: string }) => j.status === 'failed');
    assert.deepEqual([failed.labels, failed.seed, failed.step], [{ method: 'Clip-Free', seed: '3' }, 3, 11]);
    const ls = await json(['ls', '--json']);
    assert.deepEqual(ls.grids.map((g: { grid: { name: string }; jobs: number }) => [g.grid.name, g.jobs]), [['methods', 12]]);
    assert.equal(ls.grids[0].grid.hash, st.grid.hash);
    const ck = await json(['check', 'methods', '--json']);
    assert.deepEqual([ck.grid.name, ck.claims[0].verdict, ck.claims[0].gated, ck.failed], ['methods', 'holds', true, []]);
    const t = await json(['table', 'methods', '--json']);
    assert.equal(t.format, 'rlgrid.table');
    assert.deepEqual(t.rows.map((r: { label: string }) => r.label), ['GRPO', 'Clip-Higher', 'Clip-Free', 'Entropy-Adv']);
    const d = await json(['diff', 'methods:method=GRPO,seed=1', 'methods:method=Clip-Higher,seed=1', '--json']);
    assert.deepEqual([d.kind, d.a.seed, d.a.labels.method, d.b.labels.method], ['jobs', 1, 'GRPO', 'Clip-Higher']);
    const g = await json(['diff', 'methods', path.join(runs, 'methods'), '--json']);
    assert.equal(g.kind, 'grids');
    const ex = await json(['export', 'methods', '--format', 'tensorboard', '--out', path.join(runs, 'tb'), '--json']);
    assert.deepEqual([ex.files.length, ex.jobs[0].seed, ex.grid.name], [9, 1, 'methods']);
  });

  it('run and run --dry-run print their summary as JSON, progress on stderr', async () => {
    const dir = tmpDir();
    try {
      const grid = path.join(dir, 'tiny.yaml');
      fs.writeFileSync(grid, 'version: 1\nname: tiny\nbase: {train: {steps: 3}, eval: {every: 3}}\naxes: {seed: [1, 2]}\n');
      const dry = await json(['run', grid, '--dry-run', '--json', '--runs-dir', path.join(dir, 'runs')]);
      assert.deepEqual(dry.jobs.map((j: { seed: number; would: string }) => [j.seed, j.would]), [[1, 'run (new)'], [2, 'run (new)']]);
      assert.equal(dry.dry_run, true);
      const r = await runCli(['run', grid, '--json', '--runs-dir', path.join(dir, 'runs')], env());
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      valid(out, 'run --json');
      assert.deepEqual(out.jobs.map((j: { seed: number; status: string; action: string }) => [j.seed, j.status, j.action]), [[1, 'done', 'ran'], [2, 'done', 'ran']]);
      assert.equal(out.claims, null);
      assert.match(r.stderr, /start +[0-9a-f]{12}/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the schema can fail: a bare grid name, a string seed or an unknown status are refused', () => {
    const job = { id: '0123456789ab', index: 0, labels: { seed: '1' }, seed: 1, status: 'done', step: 3, steps: 3, stale: false, attempts: 1, reason: null, backend: null, dir: '/x' };
    const grid = { name: 'g', file: 'g.yaml', hash: 'a'.repeat(64) };
    const ok = { format: 'rlgrid.status', version: 1, grid, runs_dir: '/r', counts: { pending: 0, running: 0, done: 1, failed: 0, interrupted: 0, corrupt: 0 }, stale: 0, jobs: [job] };
    assert.ok(validate(ok));
    assert.ok(!validate({ ...ok, grid: 'g' }));
    assert.ok(!validate({ ...ok, jobs: [{ ...job, seed: '1' }] }));
    assert.ok(!validate({ ...ok, jobs: [{ ...job, status: 'state' }] }));
    assert.ok(!validate({ ...ok, version: 2 }));
  });
});
