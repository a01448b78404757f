// Runs the mechanism suite (src/grpo/mechanism.ts) on a model directory and
// prints every arm and the 95% intervals as JSON: the measurement behind the
// design table of docs/task-world.md (world v2).
// npx tsx scripts/world2/suite.ts <model dir> <world> [json overrides of SuiteOptions]
import path from 'node:path';
import { initBackend } from '../../src/nn/backend.ts';
import { loadModel } from '../../src/grpo/state.ts';
import { DEFAULT_SUITE, mechanismSuite } from '../../src/grpo/mechanism.ts';
import { getTaskWorld } from '../../src/tasks/index.ts';
import { buildPhrase } from '../../src/tasks/world.ts';

const [dir, worldName, over] = process.argv.slice(2);
await initBackend('auto', 1);
const { model } = loadModel(path.resolve(dir));
// the trial designs are not registered: build them by name
const world = worldName.startsWith('phrase-') ? buildPhrase(worldName) : getTaskWorld(worldName);
const opts = { ...DEFAULT_SUITE, ...(over ? JSON.parse(over) : {}) };
const t0 = performance.now();
const r = mechanismSuite(model, world, opts, (s) => process.stderr.write(`${s}  [${((performance.now() - t0) / 1000).toFixed(0)} s]\n`));
process.stdout.write(JSON.stringify({ before: r.before, summary: r.summary, options: r.options, arms: { neg: r.negativeOnly, pos: r.positiveOnly, clipDefault: r.clipDefault, clipHigher: r.clipHigher } }, null, 1) + '\n');
