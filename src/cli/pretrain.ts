// `rlgrid pretrain`: train the base model by supervised learning on the task
// world's corpus and write models/<name>/ (weights, model.json with how it was
// made, and the base-model report). Exit 1 when the report's checks fail.
import path from 'node:path';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { action, projectRoot } from './common.ts';
import { UserError } from '../util/errors.ts';

export function register(program: Command): void {
  program
    .command('pretrain')
    .description('train the base model on the task world corpus and report what the study needs of it')
    .option('--out <dir>', 'model directory to write', 'models/base')
    .option('--task <name>', 'task world', 'arith')
    .option('--steps <n>', 'optimizer steps (default 1500)')
    .option('--seed <n>', 'seed of the init, corpus and batches (default 1)')
    .option('--backend <name>', 'auto | wasm | cpu | tensorflow', 'auto')
    .option('--report-only', 'do not train: measure the model already in --out and store the new report beside it')
    .option('--json', 'print the report as JSON')
    .action(
      action(async (opts: { out: string; task: string; steps?: string; seed?: string; backend: string; reportOnly?: boolean; json?: boolean }) => {
        const root = projectRoot();
        const out = path.resolve(root, opts.out);
        if (path.relative(root, out).startsWith('..')) throw new UserError(`--out ${opts.out} leaves the project directory (the directory rlgrid runs in)`);
        const int = (v: string | undefined, name: string, dflt: number) => {
          if (v === undefined) return dflt;
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) throw new UserError(`--${name} must be a non-negative integer, got '${v}'`);
          return n;
        };
        const { initBackend } = await import('../nn/backend.ts');
        const { getTaskWorld } = await import('../tasks/index.ts');
        const { DEFAULT_PRETRAIN, pretrainModel, baseModelReport } = await import('../grpo/pretrain.ts');
        const { saveModel, loadModel } = await import('../grpo/state.ts');
        const env = await initBackend(opts.backend as 'auto', 1);
        const world = getTaskWorld(opts.task);
        const cfg = { ...DEFAULT_PRETRAIN, steps: int(opts.steps, 'steps', DEFAULT_PRETRAIN.steps), seed: int(opts.seed, 'seed', DEFAULT_PRETRAIN.seed) };
        const log = (s: string) => process.stderr.write(s + '\n');
        const t0 = performance.now();
        let model;
        let meta: Record<string, unknown> = {};
        if (opts.reportOnly) ({ model, meta } = loadModel(out));
        else {
          log(`pretraining ${opts.task} base model: ${cfg.steps} steps x ${cfg.batch} sequences, backend ${env.backend}`);
          model = await pretrainModel(world, cfg, (r) => log(`step ${r.step}/${cfg.steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`));
        }
        const trainSeconds = (performance.now() - t0) / 1000;
        log('measuring the base model (benchmarks, families, entropy, Section 7.1 mechanism)...');
        const report = await baseModelReport(model, world, cfg, log);
        const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
        // --report-only rewrites the same weights with the new report beside them.
        saveModel(
          out,
          model,
          opts.reportOnly
            ? { ...meta, report }
            : {
                made_by: { command: `rlgrid pretrain --out ${opts.out} --task ${opts.task} --steps ${cfg.steps} --seed ${cfg.seed}`, rlgrid: version, backend: env.backend, seconds: Math.round(trainSeconds) },
                task: { name: world.name, version: world.version },
                pretrain: cfg,
                report,
              },
        );
        if (opts.json) (await import('./json.ts')).printData('pretrain', report);
        else {
          const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
          const lines = [
            ...Object.entries(report.benchmarks).map(([n, b]) => `  ${n.padEnd(11)} ${b.domain}  Avg@k ${pct(b.avg_at_k).padStart(6)}  Pass@k ${pct(b.pass_at_k).padStart(6)}`),
            ...Object.entries(report.families).map(([f, a]) => `  family ${f.padEnd(8)} sampled accuracy ${pct(a)}`),
            ...(report.world
              ? [
                  '',
                  `  entropy share by position: ${Object.entries(report.world.entropyShare).map(([c, x]) => `${c} ${pct(x)}`).join(', ')} (tokens: ${Object.entries(report.world.tokenShare).map(([c, x]) => `${c} ${pct(x)}`).join(', ')})`,
                  `  mean entropy by position: ${Object.entries(report.world.entropyMean).map(([c, x]) => `${c} ${x.toFixed(3)}`).join(', ')} nats`,
                  `  neutral choices: marginal entropy ${report.world.neutralMarginalEntropy.toFixed(3)} nats, context information ${report.world.neutralContextInformation.toFixed(3)} nats`,
                  `  correct responses: ${report.world.rareTokensPerCorrectResponse.toFixed(2)} tokens of probability 0.01-0.2 each (mean ${report.world.rareTokenMeanProb.toFixed(3)})`,
                ]
              : []),
            '',
            ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
          ];
          process.stdout.write(lines.join('\n') + '\n');
          if (!opts.reportOnly) process.stdout.write(`wrote ${path.relative(root, out)}/ (${Math.round(trainSeconds)} s of training)\n`);
        }
        return report.checks.every((c) => c.ok) ? 0 : 1;
      }),
    );
}
