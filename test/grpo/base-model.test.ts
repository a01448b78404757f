// The shipped base model (models/base) and the study's baseline behaviour on
// it: what `rlgrid pretrain` promised holds, the Section 7.1 comparison holds,
// and a short default GRPO run raises in-domain accuracy and lowers entropy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveJob } from '../../src/config/job.ts';
import { useBackend } from '../helpers/backend.ts';
import { DEFAULT_MECHANISM, mechanismCheck } from '../../src/grpo/mechanism.ts';
import { disposeModel } from '../../src/nn/model/index.ts';
import type { BaseReport } from '../../src/grpo/pretrain.ts';
import { loadModel } from '../../src/grpo/state.ts';
import { train } from '../../src/grpo/trainer.ts';
import type { EvalRow } from '../../src/runs/records.ts';
import { readJsonl } from '../../src/runs/files.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';

describe('models/base (the shipped base model)', function () {
  this.timeout(600_000);
  useBackend('wasm');

  it('loads, and its stored pretrain report passes every check', () => {
    const { model, meta } = loadModel('models/base');
    const world = getTaskWorld('arith');
    assert.equal(model.config.vocab, world.tokenizer.size);
    assert.ok(model.config.context >= 1 + world.maxPromptTokens + world.maxResponseTokens);
    const report = meta.report as BaseReport;
    assert.ok(report.checks.length >= 13);
    for (const c of report.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    disposeModel(model);
  });

  it('Section 7.1: A>0-only training lowers entropy, A<0-only keeps it higher', () => {
    const { model } = loadModel('models/base');
    const r = mechanismCheck(model, getTaskWorld('arith'), { ...DEFAULT_MECHANISM, steps: 5, seed: 9 });
    disposeModel(model);
    assert.ok(r.positiveOnly < 0, `A>0 only changed entropy by ${r.positiveOnly}`);
    assert.ok(r.negativeOnly > r.positiveOnly, `A<0 only ${r.negativeOnly} <= A>0 only ${r.positiveOnly}`);
  });

  it('a short default GRPO run raises in-domain Avg@k over the base model and lowers probe entropy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-learn-'));
    try {
      const config = resolveJob({ train: { steps: 30 }, eval: { every: 30, samples: 8, questions: 32, probe_prompts: 64 } });
      await train({ runDir: dir, config, projectRoot: process.cwd(), cacheDir: path.join(dir, 'cache'), log: () => {}, shouldStop: () => false, recordEnvironment: () => {} });
      const [first, last] = readJsonl<EvalRow>(path.join(dir, 'eval.jsonl'));
      const idAvg = (e: EvalRow) => {
        const ids = Object.values(e.benchmarks).filter((b) => b.domain === 'id');
        return ids.reduce((s, b) => s + b.avg_at_k, 0) / ids.length;
      };
      assert.equal(last.step, 30);
      assert.ok(idAvg(last) > idAvg(first), `in-domain Avg@k ${idAvg(first)} -> ${idAvg(last)}`);
      assert.ok(last.probe_entropy < first.probe_entropy, `probe entropy ${first.probe_entropy} -> ${last.probe_entropy}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
