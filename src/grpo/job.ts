// The GRPO trainer as the executor's JobRunner (src/runs/context.ts).
import type { JobRunner } from '../runs/context.ts';
import { train } from './trainer.ts';

export const runJob: JobRunner = (ctx) => train(ctx);
