// Suites that need a tfjs backend set it for themselves and give the process
// its previous one back afterwards: other suites assume tfjs's default, and a
// wasm backend lacks kernels (e.g. gather's gradient) that they use.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/nn/backend.ts';
import type { OptimizerConfig } from '../../src/config/job.ts';

/** Call inside a describe: run the suite on `name`, restore the previous backend after. */
export function useBackend(name: 'wasm' | 'cpu'): void {
  let prev = '';
  before(async () => {
    prev = tf.getBackend();
    await initBackend(name, 1);
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });
}

/** A fast-moving AdamW for tiny test models (lr 1e-2, weight decay 0.01, clip 1). */
export const TEST_OPT: OptimizerConfig = {
  name: 'adamw',
  lr: 1e-2,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weight_decay: 0.01,
  grad_clip: 1,
  schedule: 'constant',
  warmup_steps: 0,
  min_lr_ratio: 0.1,
};
