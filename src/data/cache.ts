// Content-addressed cache for subsets and embeddings (the one module of
// data/ that touches files). An entry's name is the sha256 of the canonical
// JSON of its key parts (plus a format tag), so a different model, dataset,
// K, seed, size... is a different file:
//   <cacheDir>/<sha256>.json   {format, key, value}          (cachedJson)
//   <cacheDir>/<sha256>.f32    little-endian float32 rows     (cachedEmbeddings)
//   <cacheDir>/<sha256>.json   {format, key, n, dim, sha256}  (its metadata)
// Files are written atomically (temp + fsync + rename); the metadata of an
// embeddings entry is written after its binary and holds the binary's hash,
// so a torn or mismatched pair is detected. An entry that cannot be read,
// does not parse, holds another key or fails validation is recomputed and
// overwritten, never a crash. Two processes computing the same entry at once
// both write complete files; the last rename wins.
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, contentHash, sha256 } from '../util/canonical.ts';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../runs/files.ts';
import type { PromptId } from './subsets.ts';

export type KeyParts = Record<string, unknown>;

/** Key parts of a subset; anything else that changes the result goes in too (size, stop rule, maxIterations...). */
export interface SubsetKeyParts extends KeyParts {
  modelHash: string;
  datasetHash: string;
  K: number;
  seed: number;
}

export interface CacheResult<T> {
  value: T;
  /** true when read from the cache, false when computed (and written) */
  hit: boolean;
  file: string;
  /** why an existing entry was not used, when there was one */
  rejected?: string;
}

const JSON_FORMAT = 'rlgrid-cache-json/1';
const EMB_FORMAT = 'rlgrid-cache-f32/1';

/** The file stem of an entry: sha256 of the canonical JSON of {format, key}. */
export function cacheKey(format: string, parts: KeyParts): string {
  return contentHash({ format, key: parts });
}

interface JsonEntry {
  format: string;
  key: unknown;
  value: unknown;
}

/** Reads an entry or explains why it is unusable; undefined when it does not exist. */
function readEntry(file: string, format: string, parts: KeyParts): { ok: true; entry: JsonEntry } | { ok: false; why: string } | undefined {
  if (!fs.existsSync(file)) return undefined;
  let entry: JsonEntry;
  try {
    entry = readJson<JsonEntry>(file);
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  if (entry === null || typeof entry !== 'object' || entry.format !== format) return { ok: false, why: 'unknown format' };
  if (canonicalJson(entry.key) !== canonicalJson(parts)) return { ok: false, why: 'key mismatch' };
  return { ok: true, entry };
}

/**
 * Returns the cached value for `parts`, or computes, stores and returns it.
 * `isValid` checks the shape of what was read (default: anything).
 */
export async function cachedJson<T>(
  cacheDir: string,
  parts: KeyParts,
  compute: () => T | Promise<T>,
  isValid: (v: unknown) => v is T = (v): v is T => v !== undefined,
): Promise<CacheResult<T>> {
  const file = path.join(cacheDir, `${cacheKey(JSON_FORMAT, parts)}.json`);
  const read = readEntry(file, JSON_FORMAT, parts);
  let rejected: string | undefined;
  if (read?.ok) {
    if (isValid(read.entry.value)) return { value: read.entry.value, hit: true, file };
    rejected = 'invalid value';
  } else if (read) rejected = read.why;
  const value = await compute();
  writeJsonAtomic(file, { format: JSON_FORMAT, key: parts, value });
  return rejected === undefined ? { value, hit: false, file } : { value, hit: false, file, rejected };
}

/** What a subset entry must hold: ids, and the size that matches them. */
export interface CachedSubsetValue {
  ids: PromptId[];
  size: number;
}

function isSubsetValue(v: unknown): v is CachedSubsetValue {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    Array.isArray(o.ids) &&
    o.ids.every((x) => typeof x === 'string' || typeof x === 'number') &&
    typeof o.size === 'number' &&
    o.size === o.ids.length
  );
}

/** cachedJson for a subset (a KmeansSubset, or {ids, size} of a random one). */
export function cachedSubset<T extends CachedSubsetValue>(
  cacheDir: string,
  parts: SubsetKeyParts,
  compute: () => T | Promise<T>,
): Promise<CacheResult<T>> {
  return cachedJson(cacheDir, { kind: 'subset', ...parts }, compute, isSubsetValue as (v: unknown) => v is T);
}

/** n rows of dim float32 values, row-major. */
export interface Embeddings {
  n: number;
  dim: number;
  data: Float32Array;
}

/** Row views (no copy) of an embeddings matrix, the form kmeansSubset takes. */
export function embeddingRows(e: Embeddings): Float32Array[] {
  return Array.from({ length: e.n }, (_, i) => e.data.subarray(i * e.dim, (i + 1) * e.dim));
}

function encodeF32(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

function decodeF32(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

interface EmbMeta {
  format: string;
  key: unknown;
  n: number;
  dim: number;
  sha256: string;
}

function checkEmbeddings(e: Embeddings): void {
  if (!Number.isInteger(e.n) || !Number.isInteger(e.dim) || e.n < 0 || e.dim < 1 || e.data.length !== e.n * e.dim) {
    throw new RangeError(`embeddings: ${e.data.length} values do not make ${e.n} x ${e.dim}`);
  }
}

/** Embeddings cached as a float32 binary beside a JSON metadata file. */
export async function cachedEmbeddings(
  cacheDir: string,
  parts: KeyParts,
  compute: () => Embeddings | Promise<Embeddings>,
): Promise<CacheResult<Embeddings>> {
  const stem = path.join(cacheDir, cacheKey(EMB_FORMAT, { kind: 'embeddings', ...parts }));
  const metaFile = `${stem}.json`;
  const binFile = `${stem}.f32`;
  let rejected: string | undefined;
  const read = readEntry(metaFile, EMB_FORMAT, { kind: 'embeddings', ...parts });
  if (read?.ok) {
    const meta = read.entry as unknown as EmbMeta;
    try {
      const bytes = fs.readFileSync(binFile);
      if (!Number.isInteger(meta.n) || !Number.isInteger(meta.dim) || bytes.byteLength !== meta.n * meta.dim * 4) rejected = 'size mismatch';
      else if (sha256(bytes) !== meta.sha256) rejected = 'checksum mismatch';
      else return { value: { n: meta.n, dim: meta.dim, data: decodeF32(bytes) }, hit: true, file: binFile };
    } catch (e) {
      rejected = `cannot read ${binFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    }
  } else if (read) rejected = read.why;
  const value = await compute();
  checkEmbeddings(value);
  const bytes = encodeF32(value.data);
  writeFileAtomic(binFile, bytes);
  const meta: EmbMeta = { format: EMB_FORMAT, key: { kind: 'embeddings', ...parts }, n: value.n, dim: value.dim, sha256: sha256(bytes) };
  writeJsonAtomic(metaFile, meta);
  return rejected === undefined ? { value, hit: false, file: binFile } : { value, hit: false, file: binFile, rejected };
}
