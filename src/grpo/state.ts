// Model directories and training checkpoints on disk.
//
//   <dir>/model.json   {format, config, params: [{name, shape}], sha256, ...meta}
//   <dir>/weights.bin  float32 little-endian, parameters in order
//   <dir>/optimizer.bin (checkpoints/last only) AdamW moments m then v
//   <dir>/state.json   (checkpoints/last only) step, method state, EMA, best...
//
// A checkpoint directory is written as a whole into a temp directory and
// renamed into place, so a crash leaves the old checkpoint or the new one,
// never a mixture. Loading checks sizes and sha256 and names the broken file.
import fs from 'node:fs';
import path from 'node:path';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../runs/files.ts';
import { sha256 } from '../util/canonical.ts';
import { UserError } from '../util/errors.ts';
import type { MethodState } from './methods.ts';
import type { EpochSamplerState } from '../data/sampler.ts';
import { createModel, getWeights, setWeights, validateConfig, type Model, type ModelConfig } from './model.ts';
import type { AdamW } from './optim.ts';

export const MODEL_FORMAT = 'rlgrid-model/1';

export interface ModelFile {
  format: string;
  config: ModelConfig;
  params: { name: string; shape: number[] }[];
  /** sha256 of weights.bin: the model's identity in caches */
  sha256: string;
  [k: string]: unknown;
}

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

function concat(arrays: readonly Float32Array[]): Uint8Array {
  const n = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  // Float32Array is little-endian on every platform Node runs on (x86, arm64).
  return new Uint8Array(out.buffer);
}

function split(bytes: Uint8Array, sizes: readonly number[], file: string): Float32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== total * 4)
    throw new UserError([{ file, message: `truncated or wrong size: ${bytes.byteLength} bytes, expected ${total * 4}` }]);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out: Float32Array[] = [];
  let o = 0;
  for (const s of sizes) {
    out.push(all.slice(o, o + s));
    o += s;
  }
  return out;
}

/** Write a directory of files atomically: build it beside the target, then swap. */
function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  for (const [name, data] of Object.entries(files)) writeFileAtomic(path.join(tmp, name), data);
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Save a model's weights (and optional metadata) as a model directory. */
export function modelFiles(model: Model, meta: Record<string, unknown> = {}): { json: ModelFile; bin: Uint8Array } {
  const bin = concat(getWeights(model));
  const json: ModelFile = {
    format: MODEL_FORMAT,
    config: model.config,
    params: model.params.map((p, i) => ({ name: model.names[i], shape: p.shape })),
    sha256: sha256(bin),
    ...meta,
  };
  return { json, bin };
}

export function saveModel(dir: string, model: Model, meta: Record<string, unknown> = {}): ModelFile {
  const { json, bin } = modelFiles(model, meta);
  writeDirAtomic(dir, { 'weights.bin': bin, 'model.json': JSON.stringify(json, null, 2) + '\n' });
  return json;
}

export const saveWeights = saveModel;

/** Read and verify a model directory (config, shapes, checksum). */
export function readModelDir(dir: string): { file: ModelFile; weights: Float32Array[] } {
  const jsonFile = path.join(dir, 'model.json');
  const binFile = path.join(dir, 'weights.bin');
  if (!fs.existsSync(jsonFile)) throw new UserError([{ file: jsonFile, message: 'no model here (model.json missing); run `rlgrid pretrain` to create the base model' }]);
  const file = readJson<ModelFile>(jsonFile);
  if (file.format !== MODEL_FORMAT) throw new UserError([{ file: jsonFile, message: `unknown model format ${JSON.stringify(file.format)}` }]);
  try {
    validateConfig(file.config);
  } catch (e) {
    throw new UserError([{ file: jsonFile, path: 'config', message: (e as Error).message }]);
  }
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(binFile);
  } catch {
    throw new UserError([{ file: binFile, message: 'missing' }]);
  }
  if (sha256(bytes) !== file.sha256) throw new UserError([{ file: binFile, message: 'checksum mismatch: the weights are corrupt or belong to another model.json' }]);
  const sizes = file.params.map((p) => p.shape.reduce((a, b) => a * b, 1));
  return { file, weights: split(bytes, sizes, binFile) };
}

export function loadModel(dir: string): { model: Model; hash: string; file: ModelFile } {
  const { file, weights } = readModelDir(dir);
  const model = createModel(file.config, 0, weights);
  file.params.forEach((p, i) => {
    if (model.names[i] !== p.name || model.params[i].shape.join('x') !== p.shape.join('x'))
      throw new UserError([{ file: path.join(dir, 'model.json'), path: `params[${i}]`, message: `parameter ${p.name} [${p.shape}] does not match the model's ${model.names[i]} [${model.params[i].shape}]` }]);
  });
  return { model, hash: file.sha256, file };
}

export const loadBaseModel = loadModel;

/** checkpoints/last: weights, AdamW moments and the train state, as one atomic directory. */
export function saveTrainState(dir: string, model: Model, opt: AdamW, state: TrainState): void {
  const { json, bin } = modelFiles(model, { step: state.step });
  const o = opt.state();
  const optBin = concat([...o.m, ...o.v]);
  writeDirAtomic(dir, {
    'weights.bin': bin,
    'model.json': JSON.stringify(json, null, 2) + '\n',
    'optimizer.bin': optBin,
    'state.json': JSON.stringify({ ...state, optimizer_step: o.step, optimizer_sha256: sha256(optBin) }, null, 2) + '\n',
  });
}

/** Restore model, optimizer and state from checkpoints/last; null when there is none. */
export function loadTrainState(dir: string, model: Model, opt: AdamW): TrainState | null {
  if (!fs.existsSync(path.join(dir, 'state.json'))) return null;
  const { file, weights } = readModelDir(dir);
  if (JSON.stringify(file.config) !== JSON.stringify(model.config))
    throw new UserError([{ file: path.join(dir, 'model.json'), message: 'checkpoint was made for a different model configuration' }]);
  const stateFile = path.join(dir, 'state.json');
  const st = readJson<TrainState & { optimizer_step: number; optimizer_sha256: string }>(stateFile);
  const optFile = path.join(dir, 'optimizer.bin');
  const optBytes = fs.readFileSync(optFile);
  if (sha256(optBytes) !== st.optimizer_sha256) throw new UserError([{ file: optFile, message: 'checksum mismatch: the optimizer state is corrupt' }]);
  const sizes = model.params.map((p) => p.size);
  const moments = split(optBytes, [...sizes, ...sizes], optFile);
  setWeights(model, weights);
  opt.setState({ step: st.optimizer_step, m: moments.slice(0, sizes.length), v: moments.slice(sizes.length) });
  const { optimizer_step: _s, optimizer_sha256: _h, ...state } = st;
  return state;
}

export { writeJsonAtomic };
