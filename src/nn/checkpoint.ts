// Checkpoints: a directory with the named float32 tensors of a job (model
// weights, optimizer moments) in one binary file and a JSON sidecar (what the
// tensors are, a sha256 of the binary, and whatever the trainer passes: model
// config, step, RNG states...). Weights round-trip bit for bit.
//
//   <dir>/tensors.bin       the tensors' float32 data, little-endian, in order
//   <dir>/checkpoint.json   {format, version, bytes, sha256, tensors: [{name,
//                            shape, offset, length}], meta}
//
// Writes are atomic at the directory level: everything goes to <dir>.tmp
// (each file written with writeFileAtomic: temp file, fsync, rename), then the
// old <dir> moves to <dir>.old, <dir>.tmp becomes <dir>, and <dir>.old is
// removed. A crash at any point leaves either the old or the new checkpoint
// complete; the next save or load finishes the swap (recover()).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../runs/files.ts';
import { UserError } from '../util/errors.ts';
import { createModel, getWeights, paramSpecs, setWeights, validateConfig, type Model, type ModelConfig } from './model/index.ts';
import type { AdamW } from './optim.ts';

export const CHECKPOINT_FORMAT = 'rlgrid-checkpoint';
export const CHECKPOINT_VERSION = 1;
const BIN = 'tensors.bin';
const JSON_FILE = 'checkpoint.json';
/** A checkpoint directory's sidecar (format, tensor index, sha256, meta): its presence marks a checkpoint. */
export const checkpointSidecar = (dir: string): string => path.join(dir, JSON_FILE);

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** Tensors in insertion order (the order they are stored). */
export type TensorSet = Record<string, NamedArray>;

interface TensorEntry {
  name: string;
  shape: number[];
  /** offset and length in float32 elements */
  offset: number;
  length: number;
}

interface Sidecar {
  format: string;
  version: number;
  bytes: number;
  sha256: string;
  tensors: TensorEntry[];
  meta: Record<string, unknown>;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function exists(p: string): boolean {
  return fs.existsSync(p);
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch {
    // not supported everywhere; the renames are still atomic
  }
}

/**
 * Finish an interrupted save: if <dir> is missing, a complete <dir>.tmp is
 * the newer checkpoint, else <dir>.old is the previous one. Leftovers next to
 * an intact <dir> are removed.
 */
export function recover(dir: string): void {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  if (!exists(dir)) {
    if (exists(tmp) && isComplete(tmp)) fs.renameSync(tmp, dir);
    else if (exists(old)) fs.renameSync(old, dir);
  }
  if (exists(dir)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(old, { recursive: true, force: true });
  }
}

function isComplete(dir: string): boolean {
  try {
    readCheckpoint(dir);
    return true;
  } catch {
    return false;
  }
}

/** Save tensors and metadata (JSON-serialisable) as the checkpoint `dir`, atomically. */
export function saveCheckpoint(dir: string, tensors: TensorSet, meta: Record<string, unknown> = {}): void {
  if (os.endianness() !== 'LE') throw new Error('checkpoints are little-endian; this machine is big-endian');
  dir = path.resolve(dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  recover(dir);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = sizeOf(t.shape);
    if (!(t.data instanceof Float32Array)) throw new Error(`checkpoint tensor ${name}: data must be a Float32Array`);
    if (t.data.length !== n) throw new Error(`checkpoint tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    entries.push({ name, shape: [...t.shape], offset, length: n });
    offset += n;
  }
  const bin = new Uint8Array(offset * 4);
  const f32 = new Float32Array(bin.buffer);
  for (const e of entries) f32.set(tensors[e.name].data, e.offset);
  const sidecar: Sidecar = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    bytes: bin.byteLength,
    sha256: createHash('sha256').update(bin).digest('hex'),
    tensors: entries,
    meta,
  };
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    writeFileAtomic(path.join(tmp, BIN), bin);
    writeJsonAtomic(path.join(tmp, JSON_FILE), sidecar);
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true }); // a full disk keeps no half-written checkpoint
    throw e;
  }
  if (exists(dir)) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
  }
  fs.renameSync(tmp, dir);
  fsyncDir(path.dirname(dir));
  fs.rmSync(old, { recursive: true, force: true });
}

function fail(file: string, message: string): never {
  throw new UserError([{ file, message }]);
}

/** Read and verify a checkpoint directory (no recovery). */
function readCheckpoint(dir: string): { tensors: TensorSet; meta: Record<string, unknown> } {
  const jsonPath = path.join(dir, JSON_FILE);
  const binPath = path.join(dir, BIN);
  if (!exists(dir)) fail(dir, 'checkpoint directory does not exist');
  const sc = readJson<Sidecar>(jsonPath);
  if (typeof sc !== 'object' || sc === null || sc.format !== CHECKPOINT_FORMAT)
    fail(jsonPath, `not an rlgrid checkpoint (format ${JSON.stringify((sc as Partial<Sidecar> | null)?.format)})`);
  if (sc.version !== CHECKPOINT_VERSION) fail(jsonPath, `unsupported checkpoint version ${sc.version} (this rlgrid reads ${CHECKPOINT_VERSION})`);
  if (!Array.isArray(sc.tensors) || typeof sc.bytes !== 'number' || typeof sc.sha256 !== 'string') fail(jsonPath, 'malformed checkpoint sidecar');
  let bin: Buffer;
  try {
    bin = fs.readFileSync(binPath);
  } catch (e) {
    fail(binPath, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (bin.byteLength !== sc.bytes)
    fail(binPath, `truncated or wrong size: ${bin.byteLength} bytes, the sidecar says ${sc.bytes}`);
  const sha = createHash('sha256').update(bin).digest('hex');
  if (sha !== sc.sha256) fail(binPath, `corrupt: sha256 ${sha.slice(0, 12)}... does not match the sidecar's ${sc.sha256.slice(0, 12)}...`);
  // copy into an aligned buffer
  const f32 = new Float32Array(bin.byteLength / 4);
  new Uint8Array(f32.buffer).set(bin);
  const tensors: TensorSet = {};
  for (const e of sc.tensors) {
    if (typeof e.name !== 'string' || !Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0))
      fail(jsonPath, `malformed tensor entry ${JSON.stringify(e)}`);
    if (e.name in tensors) fail(jsonPath, `tensor ${e.name} appears twice`);
    if (sizeOf(e.shape) !== e.length || e.offset < 0 || e.offset + e.length > f32.length)
      fail(jsonPath, `tensor ${e.name}: shape [${e.shape}] / offset ${e.offset} / length ${e.length} do not fit the binary`);
    tensors[e.name] = { shape: e.shape, data: f32.slice(e.offset, e.offset + e.length) };
  }
  return { tensors, meta: (sc.meta ?? {}) as Record<string, unknown> };
}

/**
 * Load a checkpoint; with `expect`, also check that these tensors are present
 * with these shapes. Every problem is a UserError naming the file.
 */
export function loadCheckpoint(
  dir: string,
  expect?: readonly { name: string; shape: readonly number[] }[],
): { tensors: TensorSet; meta: Record<string, unknown> } {
  dir = path.resolve(dir);
  recover(dir);
  const ck = readCheckpoint(dir);
  if (expect) {
    const jsonPath = path.join(dir, JSON_FILE);
    for (const e of expect) {
      const t = ck.tensors[e.name];
      if (!t) fail(jsonPath, `tensor ${e.name} is missing`);
      if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i]))
        fail(jsonPath, `tensor ${e.name} has shape [${t.shape}], expected [${e.shape}]`);
    }
  }
  return ck;
}

// ---------------------------------------------------------------- model + optimizer

const W = 'model/';
const M1 = 'adam.m/';
const M2 = 'adam.v/';

/**
 * Save a model's weights and config (and, given one, the optimizer's moments
 * and step) plus the caller's metadata (step, RNG states...).
 * meta.model_config and meta.optimizer_step are set by this function.
 */
export function saveModelCheckpoint(dir: string, model: Model, opts: { optimizer?: AdamW; meta?: Record<string, unknown> } = {}): void {
  const tensors: TensorSet = {};
  const ws = getWeights(model);
  model.names.forEach((n, i) => (tensors[W + n] = { shape: [...model.params[i].shape], data: ws[i] }));
  const meta: Record<string, unknown> = { ...(opts.meta ?? {}), model_config: model.config };
  if (opts.optimizer) {
    const st = opts.optimizer.state();
    model.names.forEach((n, i) => {
      tensors[M1 + n] = { shape: [...model.params[i].shape], data: st.m[i] };
      tensors[M2 + n] = { shape: [...model.params[i].shape], data: st.v[i] };
    });
    meta.optimizer_step = st.step;
  }
  saveCheckpoint(dir, tensors, meta);
}

function configOf(dir: string, meta: Record<string, unknown>): ModelConfig {
  const cfg = meta.model_config as ModelConfig | undefined;
  const file = path.join(path.resolve(dir), JSON_FILE);
  if (!cfg || typeof cfg !== 'object') fail(file, 'meta.model_config is missing (not a model checkpoint)');
  try {
    validateConfig(cfg);
  } catch (e) {
    fail(file, (e as Error).message);
  }
  return cfg;
}

/** A new model built from a checkpoint's config and weights. */
export function loadModelCheckpoint(dir: string): { model: Model; meta: Record<string, unknown> } {
  const peek = loadCheckpoint(dir);
  const cfg = configOf(dir, peek.meta);
  const specs = paramSpecs(cfg);
  const ck = loadCheckpoint(dir, specs.map((s) => ({ name: W + s.name, shape: s.shape })));
  const model = createModel(cfg, 0, specs.map((s) => ck.tensors[W + s.name].data));
  return { model, meta: ck.meta };
}

/**
 * Restore weights (and optimizer state, when the checkpoint has it and an
 * optimizer is given) into an existing model. The checkpoint's model config
 * must equal the model's. Returns the metadata.
 */
export function restoreModelCheckpoint(dir: string, model: Model, optimizer?: AdamW): Record<string, unknown> {
  const file = path.join(path.resolve(dir), JSON_FILE);
  const peek = loadCheckpoint(dir);
  const cfg = configOf(dir, peek.meta);
  const keys = Object.keys(model.config) as (keyof ModelConfig)[];
  for (const k of keys)
    if (cfg[k] !== model.config[k]) fail(file, `model config differs: ${k} is ${cfg[k]} in the checkpoint, ${model.config[k]} in the model`);
  const expect = model.names.map((n, i) => ({ name: W + n, shape: model.params[i].shape }));
  const withOpt = optimizer !== undefined && typeof peek.meta.optimizer_step === 'number';
  if (withOpt)
    model.names.forEach((n, i) => expect.push({ name: M1 + n, shape: model.params[i].shape }, { name: M2 + n, shape: model.params[i].shape }));
  const ck = loadCheckpoint(dir, expect);
  setWeights(
    model,
    model.names.map((n) => ck.tensors[W + n].data),
  );
  if (withOpt)
    optimizer.setState({
      step: ck.meta.optimizer_step as number,
      m: model.names.map((n) => ck.tensors[M1 + n].data),
      v: model.names.map((n) => ck.tensors[M2 + n].data),
    });
  return ck.meta;
}
