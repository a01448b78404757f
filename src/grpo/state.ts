// Model directories and training checkpoints, both in the checkpoint format
// of ../nn/checkpoint.ts (tensors.bin + checkpoint.json, written atomically as a
// directory, sha256-verified on load).
//   models/<name>/           weights + meta (how the model was made, its report)
//   <run>/checkpoints/last   weights + AdamW moments + TrainState (resume)
//   <run>/checkpoints/best   weights of the best validation checkpoint
import fs from 'node:fs';
import { readJson } from '../runs/files.ts';
import { UserError } from '../util/errors.ts';
import type { EpochSamplerState } from '../data/sampler.ts';
import type { MethodState } from './methods.ts';
import type { Model } from '../nn/model/index.ts';
import type { AdamW } from '../nn/optim.ts';
import { checkpointSidecar, loadModelCheckpoint, recover, restoreModelCheckpoint, saveModelCheckpoint } from '../nn/checkpoint.ts';

/** Everything a resumed run needs besides weights and optimizer moments. */
export interface TrainState {
  step: number;
  method: MethodState;
  sampler: EpochSamplerState | null;
  ema: number | null;
  prevEntropy: number | null;
  best: { step: number; score: number };
  initialEntropy: number | null;
}

export function saveModel(dir: string, model: Model, meta: Record<string, unknown> = {}): void {
  saveModelCheckpoint(dir, model, { meta });
}

/** Load a model directory; `hash` (the sha256 of its tensors) is its identity in caches. */
export function loadModel(dir: string): { model: Model; hash: string; meta: Record<string, unknown> } {
  recover(dir);
  const sidecar = checkpointSidecar(dir);
  if (!fs.existsSync(sidecar))
    throw new UserError([{ file: sidecar, message: 'no model here; `rlgrid pretrain` creates the base model (models/base ships with rlgrid)' }]);
  const { model, meta } = loadModelCheckpoint(dir);
  return { model, hash: readJson<{ sha256: string }>(sidecar).sha256, meta };
}

export function saveTrainState(dir: string, model: Model, opt: AdamW, state: TrainState): void {
  saveModelCheckpoint(dir, model, { optimizer: opt, meta: { train_state: state } });
}

/** Restore weights, optimizer and state from checkpoints/last; null when there is none yet. */
export function loadTrainState(dir: string, model: Model, opt: AdamW): TrainState | null {
  recover(dir);
  if (!fs.existsSync(checkpointSidecar(dir))) return null;
  const meta = restoreModelCheckpoint(dir, model, opt);
  const state = meta.train_state as TrainState | undefined;
  if (!state || typeof state.step !== 'number')
    throw new UserError([{ file: checkpointSidecar(dir), path: 'meta.train_state', message: 'missing or malformed: not a training checkpoint' }]);
  return state;
}
