// `rlgrid run --executor slurm`, `status` and `cancel` against a REAL Slurm
// (a single node on this machine: scripts/slurm/start.sh, docs/slurm.md), with
// the test job runner. When Slurm is not reachable and cannot be started (not
// root, no apt-get), every test here is skipped with a line saying why.
//
// The time-limit test needs a minute of wall time (Slurm's limits are whole
// minutes): its grid is submitted in `before` and checked last, so the other
// tests run meanwhile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gridPlan, jobDir, lastStep, openStore, type Store } from '../../src/runs/store.ts';
import { readManifest } from '../../src/runs/manifest.ts';
import { cancelGrid } from '../../src/exec/slurm/cancel.ts';
import { parseTaskLog } from '../../src/exec/slurm/monitor.ts';
import { listSubmissions } from '../../src/exec/slurm/records.ts';
import { LIVE_STATES, squeueTasks } from '../../src/exec/slurm/scheduler.ts';
import { BIN, executions, reference, resultFiles, ROOT, runCli, testEnv, tmpDir, type CliResult } from '../exec/fixtures.ts';

const START = path.join(ROOT, 'scripts', 'slurm', 'start.sh');
const STOP = path.join(ROOT, 'scripts', 'slurm', 'stop.sh');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** null when sinfo answers with a usable node, else why not. */
function slurmProblem(): string | null {
  const r = spawnSync('sinfo', ['--noheader', '--Node', '--format=%T'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'sinfo is not installed' : r.error.message;
  if (r.status !== 0) return `sinfo failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  return /^(idle|mixed|allocated|completing)/m.test(r.stdout) ? null : `no usable node (sinfo: ${r.stdout.trim() || 'nothing'})`;
}

function grid(dir: string, name: string, seeds: number[], steps: number): string {
  const f = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(f, `version: 1\nname: ${name}\nbase: {train: {steps: ${steps}}, eval: {every: 5}}\naxes: {seed: [${seeds.join(', ')}]}\n`);
  return f;
}

interface StatusJob {
  id: string;
  status: string;
  step: number;
  reason: string | null;
  slurm?: { job_id: string; state: string; reason: string | null; source: string; log: string } | null;
}
interface StatusJson {
  jobs: StatusJob[];
  slurm_notes?: string[];
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const arrayIdOf = (stdout: string): string => {
  const m = /Slurm job array (\d+)/.exec(stdout);
  assert.ok(m, stdout);
  return m[1];
};

/** Wait until every task of the array has left the queue's live states (or the time is up). */
async function waitArray(id: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const q = squeueTasks([id]);
    assert.ok(q.ok, q.ok ? '' : q.error);
    const live = [...q.rows.values()].filter((t) => LIVE_STATES.has(t.state));
    if (live.length === 0) return;
    if (Date.now() > end) assert.fail(`array ${id} still has live tasks after ${ms} ms: ${live.map((t) => `${t.job_id} ${t.state} ${t.reason}`).join(', ')}`);
    await sleep(500);
  }
}

async function assertMatchesReference(store: Store, grid: string): Promise<void> {
  for (const j of gridPlan(store, grid).jobs) assert.deepEqual(resultFiles(jobDir(store, j.id)), await reference(j.config), `job ${j.id} (seed ${j.config.seed})`);
}

describe('slurm executor on a real Slurm', function () {
  this.timeout(150_000);
  let startedHere = false;
  let root: string;
  let execLog: string;
  const stores: Store[] = [];
  // the time-limit grid, submitted in before()
  let tlRuns: string;
  let tlFile: string;
  let tlArray: string;

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => testEnv({ RLGRID_TEST_EXEC_LOG: execLog, ...extra });

  before(async function () {
    this.timeout(300_000);
    let why = process.env.RLGRID_SKIP_SLURM_TESTS ? 'RLGRID_SKIP_SLURM_TESTS is set' : slurmProblem();
    if (why && !process.env.RLGRID_SKIP_SLURM_TESTS && process.getuid?.() === 0) {
      const r = spawnSync('bash', [START], { encoding: 'utf8', timeout: 240_000 });
      if (r.status === 0) {
        startedHere = !/already running/.test(r.stdout);
        why = slurmProblem();
      } else why = `${why}; scripts/slurm/start.sh failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`;
    } else if (why && process.getuid?.() !== 0) why += ' (and starting a local Slurm needs root)';
    if (why) {
      console.log(`    SKIPPED: the Slurm tests need a reachable Slurm: ${why}`);
      this.skip();
    }
    root = tmpDir('rlgrid-slurm-test-');
    fs.chmodSync(root, 0o755);
    execLog = path.join(root, 'executions.jsonl');

    // A job that runs longer than --time 1 (one minute; OverTimeLimit=0): Slurm kills it at about 60-90 s.
    tlRuns = path.join(root, 'tl-runs');
    stores.push(openStore(tlRuns));
    tlFile = grid(root, 'tl', [21], 400);
    const r = ok(await runCli(['run', tlFile, '--executor', 'slurm', '--time', '1', '--runs-dir', tlRuns], env({ RLGRID_TEST_STEP_MS: '500' })), 'submit tl');
    tlArray = arrayIdOf(r.stdout);
  });

  after(async function () {
    this.timeout(120_000);
    if (!root) return;
    for (const s of stores) for (const g of fs.existsSync(s.root) ? fs.readdirSync(s.root) : []) if (fs.existsSync(path.join(s.root, g, 'slurm'))) await cancelGrid(s, g, { waitMs: 30_000 });
    fs.rmSync(root, { recursive: true, force: true });
    if (startedHere) {
      const r = spawnSync('bash', [STOP], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) console.log(`    scripts/slurm/stop.sh: ${r.stderr}`);
    }
  });

  it('--dry-run writes the array script (exact directive and exec lines) without submitting; bash runs a task of it', async () => {
    const runs = path.join(root, `dry %a it's "q" $(touch pwned-dry) \`touch pwned-bt\``, 'runs');
    const store = openStore(runs);
    stores.push(store);
    const file = grid(root, 'dry', [1, 2, 3, 4], 5);
    const pwnArg = path.join(root, 'pwned-arg');
    const r = ok(
      await runCli(
        ['run', file, '--executor', 'slurm', '--dry-run', '--array-parallelism', '2', '--partition', 'rlgrid', '--time', '1:00:00', '--mem', '100M', `--sbatch-arg=--comment=$(touch ${pwnArg}) "x" 'y' \\z`, '--runs-dir', runs],
        env(),
      ),
      'dry run',
    );
    const script = r.stdout.trim().split('\n').pop()!;
    assert.equal(script, path.join(runs, 'dry', 'slurm', 'submit-1.sbatch'));
    const text = fs.readFileSync(script, 'utf8');
    const lines = text.split('\n');
    const plan = gridPlan(store, 'dry');
    const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
    const sdir = path.join(runs, 'dry', 'slurm');
    for (const line of [
      '#SBATCH --job-name=rlgrid-dry',
      '#SBATCH --array=0-3%2',
      `#SBATCH --output="${sdir.replaceAll('%', '%%').replaceAll('"', '\\"')}/submit-1-%a.log"`,
      '#SBATCH --open-mode=append',
      '#SBATCH --partition=rlgrid',
      '#SBATCH --time=1:00:00',
      '#SBATCH --mem=100M',
      '#SBATCH --signal=B:TERM@120',
      `#SBATCH --comment="$(touch ${pwnArg}) \\"x\\" 'y' \\\\z"`,
      ...plan.jobs.map((j, i) => `  ${j.id} # ${i}: plan job ${i}`),
      `dir=${q(runs + '/jobs/')}"$job"`,
      `cd ${q(ROOT.replace(/\/$/, ''))} || exit 2`,
      `export RLGRID_RUNS_DIR=${q(runs)}`,
      `export RLGRID_JOB_RUNNER='test'`,
      `  ${q(process.execPath)} ${q(BIN)} exec "$dir" --from-run --grid 'dry' --grid-hash ${q(plan.grid.hash)} >>"$dir/log.txt" 2>&1 &`,
    ])
      assert.ok(lines.includes(line), `missing line:\n${line}\nin:\n${text}`);
    const sub = listSubmissions(store, 'dry');
    assert.deepEqual(
      sub.map((s) => [s.submission, s.dry_run, s.slurm_job_id, s.array, s.tasks.map((t) => t.job)]),
      [[1, true, null, '0-3%2', plan.jobs.map((j) => j.id)]],
    );
    const queued = spawnSync('squeue', ['--noheader', '--states=all', '--name=rlgrid-dry'], { encoding: 'utf8' });
    assert.equal(queued.stdout.trim(), '', 'a dry run submits nothing');

    // The script is plain bash: run task 2 of it here, as Slurm would (no Slurm involved).
    const b = spawnSync('bash', [script], { env: { ...env(), SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_JOB_ID: '0', SLURM_JOB_ID: '0' }, encoding: 'utf8', cwd: root });
    assert.equal(b.status, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /rlgrid: task end: rlgrid exec exit code 0/);
    assert.equal(readManifest(jobDir(store, plan.jobs[2].id))?.status, 'done');
    assert.match(fs.readFileSync(path.join(jobDir(store, plan.jobs[2].id), 'log.txt'), 'utf8'), /== attempt 1 of job [\s\S]*== done/);
    for (const p of [pwnArg, path.join(ROOT, 'pwned-dry'), path.join(root, 'pwned-dry'), path.join(ROOT, 'pwned-bt'), path.join(root, 'pwned-bt')])
      assert.ok(!fs.existsSync(p), `${p} was created: something ran a value`);
  });

  it('submits a grid as one job array: every job done with the bytes of a local run; values with quotes, spaces, % and $(...) run nothing', async () => {
    const runs = path.join(root, `sub %a it's "q" $(touch pwned-sub) \`touch pwned-bt\``, 'runs');
    const store = openStore(runs);
    stores.push(store);
    const file = grid(root, 'sub', [1, 2, 3, 4], 8);
    const pwnArg = path.join(root, 'pwned-sub-arg');
    const comment = `$(touch ${pwnArg}) "x" 'y' \\z`;
    const r = ok(await runCli(['run', file, '--executor', 'slurm', '--array-parallelism', '2', `--sbatch-arg=--comment=${comment}`, '--runs-dir', runs], env()), 'submit');
    const id = arrayIdOf(r.stdout);
    assert.match(r.stdout, new RegExp(`--array=0-3%2`));
    const plan = gridPlan(store, 'sub');
    plan.jobs.forEach((j, i) => {
      const m = readManifest(jobDir(store, j.id))!;
      assert.deepEqual([m.slurm?.job_id, m.slurm?.array_job_id, m.slurm?.array_task_id], [`${id}_${i}`, id, i]);
    });
    const show = spawnSync('scontrol', ['show', 'job', `${id}_0`], { encoding: 'utf8' });
    assert.ok(show.stdout.includes(`Comment=${comment}`), show.stdout);
    await waitArray(id, 90_000);

    const st = JSON.parse(ok(await runCli(['status', 'sub', '--json', '--runs-dir', runs], env()), 'status').stdout) as StatusJson;
    assert.deepEqual(
      st.jobs.map((j) => [j.status, j.step, j.slurm?.job_id, j.slurm?.state]),
      plan.jobs.map((_, i) => ['done', 8, `${id}_${i}`, 'COMPLETED']),
    );
    for (const j of plan.jobs) {
      const log = fs.readFileSync(path.join(jobDir(store, j.id), 'log.txt'), 'utf8');
      assert.match(log, /== attempt 1 of job [\s\S]*test job: done\n== done\n$/);
    }
    // the same plan run by the local executor writes the same bytes
    const localRuns = path.join(root, 'sub-local');
    ok(await runCli(['run', file, '--runs-dir', localRuns], env()), 'local run');
    const local = openStore(localRuns);
    for (const j of plan.jobs) assert.deepEqual(resultFiles(jobDir(store, j.id)), resultFiles(jobDir(local, j.id)), `job ${j.id}`);

    // nothing left to submit
    const again = ok(await runCli(['run', file, '--executor', 'slurm', '--runs-dir', runs], env()), 'resubmit');
    assert.match(again.stdout, /nothing to submit/);
    assert.equal(listSubmissions(store, 'sub').length, 1);
    for (const p of [pwnArg, path.join(ROOT, 'pwned-sub'), path.join(root, 'pwned-sub'), path.join(ROOT, 'pwned-bt'), path.join(root, 'pwned-bt')])
      assert.ok(!fs.existsSync(p), `${p} was created: something ran a value`);
  });

  it('cancel mid-run: running jobs end interrupted with Slurm\'s reason, queued ones never start; a resubmit resumes them from their checkpoints', async () => {
    const runs = path.join(root, 'cx-runs');
    const store = openStore(runs);
    stores.push(store);
    const file = grid(root, 'cx', [11, 12, 13, 14], 40);
    const r = ok(await runCli(['run', file, '--executor', 'slurm', '--array-parallelism', '2', '--runs-dir', runs], env({ RLGRID_TEST_STEP_MS: '150' })), 'submit');
    const id = arrayIdOf(r.stdout);
    const plan = gridPlan(store, 'cx');
    const end = Date.now() + 60_000;
    while (!plan.jobs.some((j) => lastStep(jobDir(store, j.id)) >= 3)) {
      if (Date.now() > end) assert.fail('no job reached step 3 within 60 s');
      await sleep(100);
    }
    const c = ok(await runCli(['cancel', 'cx', '--runs-dir', runs], env()), 'cancel');
    assert.match(c.stdout, new RegExp(`cancelled Slurm job array ${id} \\(submission 1\\)`));
    await waitArray(id, 30_000); // cancel already waited; the queue agrees

    const st = JSON.parse(ok(await runCli(['status', 'cx', '--json', '--runs-dir', runs], env()), 'status').stdout) as StatusJson;
    const started = new Set(executions(execLog).filter((e) => plan.jobs.some((j) => j.id === e.id)).map((e) => e.id));
    assert.ok(started.size >= 1);
    const stepAtCancel = new Map<string, number>();
    for (const j of st.jobs) {
      assert.equal(j.slurm?.state, 'CANCELLED', JSON.stringify(j));
      if (started.has(j.id)) {
        assert.equal(j.status, 'interrupted', JSON.stringify(j));
        assert.match(j.reason ?? '', /^Slurm: cancelled .*\(CANCELLED\); stopped by SIGTERM/);
        assert.ok(j.step < 40, JSON.stringify(j));
        stepAtCancel.set(j.id, j.step);
        // where sacct is disabled, the task's own Slurm log says it was cancelled
        assert.equal(parseTaskLog(fs.readFileSync(j.slurm!.log, 'utf8'))?.state, 'CANCELLED');
      } else {
        // never reached the runner: queued, or killed while node was still starting
        assert.ok(['pending', 'interrupted'].includes(j.status), JSON.stringify(j));
        assert.equal(j.step, 0);
        assert.match(j.reason ?? '', /cancelled/);
      }
    }
    assert.ok([...stepAtCancel.values()].some((s) => s >= 3), 'a job was cancelled at step >= 3');
    const n0 = executions(execLog).length;

    const r2 = ok(await runCli(['run', file, '--executor', 'slurm', '--array-parallelism', '2', '--runs-dir', runs], env({ RLGRID_TEST_STEP_MS: '2' })), 'resubmit');
    const id2 = arrayIdOf(r2.stdout);
    assert.notEqual(id2, id);
    await waitArray(id2, 90_000);
    const after = executions(execLog).slice(n0);
    for (const j of plan.jobs) {
      const m = readManifest(jobDir(store, j.id))!;
      assert.equal(m.status, 'done', `${j.id}: ${m.status} ${m.reason}`);
      const runsOfJob = after.filter((e) => e.id === j.id);
      assert.equal(runsOfJob.length, 1, `${j.id} ran once after the resubmit`);
      assert.equal(runsOfJob[0].from_step, stepAtCancel.get(j.id) ?? 0, `${j.id} resumed from its checkpoint`);
      if (stepAtCancel.has(j.id)) assert.deepEqual(m.history.map((h) => h.status), ['interrupted', 'done']);
      else assert.equal(m.history[m.history.length - 1].status, 'done');
      assert.equal(m.slurm?.array_job_id, id2);
    }
    await assertMatchesReference(store, 'cx');
  });

  it('a task past its time limit is reported with Slurm\'s reason (squeue, and the task\'s log where squeue/sacct cannot say) and resumes on resubmit', async function () {
    this.timeout(200_000);
    await waitArray(tlArray, 150_000);
    const store = openStore(tlRuns);
    const st = JSON.parse(ok(await runCli(['status', 'tl', '--json', '--runs-dir', tlRuns], env()), 'status').stdout) as StatusJson;
    const [j] = st.jobs;
    assert.equal(j.status, 'interrupted', JSON.stringify(j));
    assert.equal(j.slurm?.state, 'TIMEOUT', JSON.stringify(j));
    assert.equal(j.slurm?.source, 'squeue');
    assert.match(j.reason ?? '', /^Slurm: time limit \(TIMEOUT\); stopped by SIGTERM/);
    assert.ok(j.step > 0 && j.step < 400, JSON.stringify(j));
    const table = ok(await runCli(['status', 'tl', '--runs-dir', tlRuns], env()), 'status table');
    assert.match(table.stdout, new RegExp(`${tlArray}_0 TIMEOUT`));
    assert.match(table.stdout, /time limit/);

    // No squeue or sacct on PATH (a login node without Slurm, or the job aged out): the task's log still says why.
    const blind = JSON.parse(ok(await runCli(['status', 'tl', '--json', '--runs-dir', tlRuns], env({ PATH: path.join(root, 'no-bin') })), 'blind status').stdout) as StatusJson;
    assert.equal(blind.jobs[0].slurm?.state, 'TIMEOUT');
    assert.equal(blind.jobs[0].slurm?.source, 'log');
    assert.match(blind.jobs[0].reason ?? '', /^Slurm: time limit/);
    assert.ok(blind.slurm_notes?.some((n) => /squeue/.test(n)), JSON.stringify(blind.slurm_notes));

    const before = executions(execLog).length;
    const r = ok(await runCli(['run', tlFile, '--executor', 'slurm', '--runs-dir', tlRuns], env({ RLGRID_TEST_STEP_MS: '0' })), 'resubmit tl');
    await waitArray(arrayIdOf(r.stdout), 90_000);
    const m = readManifest(jobDir(store, gridPlan(store, 'tl').jobs[0].id))!;
    assert.equal(m.status, 'done', `${m.status} ${m.reason}`);
    const resumed = executions(execLog).slice(before);
    assert.deepEqual(resumed.map((e) => e.from_step), [j.step], 'resumed from the checkpoint the time limit left');
    await assertMatchesReference(store, 'tl');
  });
});
