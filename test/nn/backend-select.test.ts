// The backend choice is honest: `auto` says why it skipped the native
// backends, `tensorflow` fails with a clear message instead of falling back,
// every job logs its backend first and `status` shows it (a real, tiny run).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../../src/nn/backend.ts';
import { ROOT, runCli, tmpDir } from '../exec/fixtures.ts';

const installed = (name: string): boolean => {
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
};
const NATIVE = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

describe('backend selection (runtime.backend)', function () {
  this.timeout(120_000);
  let prev = '';
  before(function () {
    if (NATIVE) this.skip(); // these check the machine without tfjs-node, as CI and this project's machines are
    prev = tf.getBackend();
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });

  it("'tensorflow' without tfjs-node fails naming both packages and what to do; it never falls back", async () => {
    await assert.rejects(
      initBackend('tensorflow', 1),
      /^Error: runtime\.backend 'tensorflow' cannot load: @tensorflow\/tfjs-node-gpu not installed; @tensorflow\/tfjs-node not installed\. Install @tensorflow\/tfjs-node \(CPU\) or @tensorflow\/tfjs-node-gpu \(CUDA\) beside rlgrid, or set runtime\.backend: wasm$/,
    );
    assert.notEqual(tf.getBackend(), 'tensorflow');
  });

  it("'auto' runs on wasm and says why it skipped each native package", async () => {
    const info = await initBackend('auto', 1);
    assert.equal(info.backend, 'wasm');
    assert.match(describeBackend(info), /^backend: wasm.*, 1 thread, tfjs \d+\.\d+\.\d+; skipped @tensorflow\/tfjs-node-gpu \(not installed\), @tensorflow\/tfjs-node \(not installed\)$/);
    const wasm = await initBackend('wasm', 1);
    assert.ok(!describeBackend(wasm).includes('skipped'), 'an explicit backend tries nothing else');
  });

  it('a real job logs its backend first; status shows it; runtime.backend tensorflow fails the job with that reason', async () => {
    const runs = tmpDir();
    try {
      const tiny = ['--only', 'method=GRPO*', '--seeds', '1', '--no-check', '--runs-dir', runs];
      for (const s of ['train.steps=1', 'train.prompts_per_batch=2', 'train.group_size=2', 'eval.samples=1', 'eval.questions=4', 'eval.probe_prompts=4', 'eval.every=1'])
        tiny.push('--set', s);
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RLGRID_CACHE_DIR: path.join(runs, 'cache') };
      delete env.RLGRID_JOB_RUNNER;
      const ok = await runCli(['run', 'grids/ci/table2.yaml', ...tiny], env);
      assert.equal(ok.code, 0, ok.stderr);
      const st = JSON.parse((await runCli(['status', 'ci-table2', '--json', '--runs-dir', runs], env)).stdout);
      const job = st.jobs.find((j: { status: string }) => j.status === 'done');
      assert.match(job.backend, /^wasm/);
      const log = fs.readFileSync(path.join(runs, 'jobs', job.id, 'log.txt'), 'utf8').split('\n');
      assert.match(log[1], /^backend: wasm.*; skipped @tensorflow\/tfjs-node-gpu \(not installed\), @tensorflow\/tfjs-node \(not installed\)$/, log.join('\n'));
      const bad = await runCli(['run', 'grids/ci/table2.yaml', ...tiny, '--set', 'runtime.backend=tensorflow'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /failed .*runtime\.backend 'tensorflow' cannot load/);
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
