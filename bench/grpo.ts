// One full GRPO step (rollout + scoring + N updates) of the default config
// (32 prompts x 8 responses) on the shipped base model, read from the
// trainer's own `time/step_s`; evaluation is cut to a minimum and not timed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveJob } from '../src/config/job.ts';
import { train } from '../src/grpo/trainer.ts';
import { readJsonl } from '../src/runs/files.ts';

export async function benchGrpo(): Promise<void> {
  if (!fs.existsSync('models/base/checkpoint.json')) {
    console.log('models/base is missing: run `rlgrid pretrain` first');
    return;
  }
  for (const n of [1, 4]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-bench-grpo-'));
    const config = resolveJob({
      train: { steps: 4, updates_per_batch: n },
      eval: { every: 1000, samples: 1, questions: 1, probe_prompts: 1 },
      runtime: { backend: 'auto', checkpoint_every: 1000 },
    });
    const env: Record<string, unknown> = {};
    await train({
      runDir: dir,
      config,
      projectRoot: process.cwd(),
      cacheDir: path.join(dir, 'cache'),
      log: () => {},
      shouldStop: () => false,
      recordEnvironment: (e) => Object.assign(env, e),
    });
    const rows = readJsonl<Record<string, number>>(path.join(dir, 'metrics.jsonl'));
    const times = rows.slice(1).map((r) => r['time/step_s']).sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    const tokens = rows.slice(1).reduce((s, r) => s + r['response_length/mean'], 0) / (rows.length - 1);
    console.log(
      JSON.stringify({
        name: `grpo_step_N${n}`,
        backend: env.backend,
        prompts: config.train.prompts_per_batch,
        group: config.train.group_size,
        updates: n,
        med_s: Number(med.toFixed(3)),
        response_tokens_mean: Number(tokens.toFixed(1)),
      }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
