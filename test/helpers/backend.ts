// Suites that need a tfjs backend set it for themselves and give the process
// its previous one back afterwards: other suites assume tfjs's default, and a
// wasm backend lacks kernels (e.g. gather's gradient) that they use.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/grpo/backend.ts';

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
