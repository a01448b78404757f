// A design trial of docs/task-world.md (world v2) without registering a
// world: builds the phrase world with the given separator order, pretrains a
// base model into a directory, and runs the mechanism suite on it.
// npx tsx scripts/world2/trial.ts <design name of PHRASE_DESIGNS> <out dir> <steps> '<suite options JSON>' ['<model JSON>']
// e.g. '{"d_model": 256}' for a wider base than DEFAULT_PRETRAIN's (docs/task-world.md, what is left).
import path from 'node:path';
import { initBackend } from '../../src/nn/backend.ts';
import { saveModel } from '../../src/grpo/state.ts';
import { DEFAULT_SUITE, mechanismSuite } from '../../src/grpo/mechanism.ts';
import { DEFAULT_PRETRAIN, pretrainModel } from '../../src/grpo/pretrain.ts';
import { worldStats } from '../../src/grpo/world-stats.ts';
import { rewardOf, sampleAll } from '../../src/grpo/rollout.ts';
import { buildPhrase } from '../../src/tasks/world.ts';
import { Rng } from '../../src/util/rng.ts';
import { DEFAULT_JOB } from '../../src/config/job.ts';

const [how, out, steps, over, modelOver] = process.argv.slice(2);
const env = await initBackend('auto', 1);
const world = buildPhrase(how);
const cfg = { ...DEFAULT_PRETRAIN, steps: Number(steps), model: { ...DEFAULT_PRETRAIN.model, ...(modelOver ? JSON.parse(modelOver) : {}) } };
const t0 = performance.now();
const log = (s: string) => process.stderr.write(`${s}  [${((performance.now() - t0) / 1000).toFixed(0)} s]\n`);
const model = await pretrainModel(world, cfg, (r) => r.step % 250 === 0 && log(`step ${r.step} loss ${r.loss.toFixed(4)}`));
saveModel(path.resolve(out), model, { made_by: { command: `scripts/world2/trial.ts ${how} ${out} ${steps}${modelOver ? ` '${over ?? '{}'}' '${modelOver}'` : ''}`, backend: env.backend }, task: { name: world.name, version: world.version }, pretrain: cfg });
// the base report's statistics, on 64 training prompts per family x 4 samples
const samples = world.families.flatMap((fam) => {
  const prompts = Rng.derived(cfg.seed, `report/family/${fam}`).shuffled(world.train.filter((p) => p.family === fam)).slice(0, 64);
  const gens = sampleAll(model, world, prompts, 4, DEFAULT_JOB.rollout, Rng.derived(cfg.seed, `report/family-samples/${fam}`));
  return gens.map((gen, i) => ({ problem: prompts[Math.floor(i / 4)], gen, reward: rewardOf(world, prompts[Math.floor(i / 4)], gen) }));
});
const acc = samples.reduce((a, s) => a + s.reward, 0) / samples.length;
log(`sampled accuracy ${acc.toFixed(3)}; stats ${JSON.stringify(worldStats(world, samples))}`);
const r = mechanismSuite(model, world, { ...DEFAULT_SUITE, ...(over ? JSON.parse(over) : {}) }, log);
process.stdout.write(JSON.stringify({ accuracy: acc, before: r.before, summary: r.summary }, null, 1) + '\n');
