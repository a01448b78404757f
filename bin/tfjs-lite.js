// What `@tensorflow/tfjs` is inside the bundled CLI (bin/bundle.js): tfjs-core
// with its gradients and chained ops, and the cpu backend, as the union
// package registers them, without layers, converter, data and WebGL, which
// rlgrid does not use and which made up most of a worker's ~1 s of loading
// TensorFlow.js. The wasm backend and tfjs-node stay external packages. The
// numbers are the same: the same tfjs-core code (its ES module build) on the
// same engine, kernels and gradient registries (tfjs keeps them global, so
// the wasm backend's own copy of tfjs-core shares them, as in the union
// package).
import { version_core } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
/** the union package's `version` (src/nn/backend.ts records version.tfjs) */
export const version = { 'tfjs-core': version_core, tfjs: version_core };
