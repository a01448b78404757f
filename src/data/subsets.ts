// Training-data subsets (SPEC 11). Embeddings are computed elsewhere (by the
// job, from the base model); this module clusters the vectors it is given.
//
// K-means subset: k-means (ml-kmeans, k-means++ init, seeded) with K clusters;
// clusters are relabelled by size, descending (0 = largest; equal sizes are
// ordered by the input position of their first member, so the order does not
// depend on ml-kmeans' internal numbering); whole clusters are taken from the
// largest down. Stopping rule (default 'at-least'): stop at the first cluster
// that brings the count to >= S, so the subset holds at least S prompts and
// fewer than S + (size of the last cluster taken). 'nearest' instead stops at
// the count closest to S (ties: the smaller count), which can end below S.
//
// Random subset: S ids drawn uniformly without replacement from a seeded Rng.
// Matched random subset: a random subset as large as the K-means subset of
// the same target and clustering (the study's control: "random subsets of the
// same size"). All return ids in their original (input) order.
import { kmeans } from 'ml-kmeans';
import { Rng } from '../util/rng.ts';

export type PromptId = string | number;
export type EmbeddingRows = readonly ArrayLike<number>[];

export type StopRule = 'at-least' | 'nearest';

export interface KmeansOptions {
  clusters: number;
  seed: number;
  /** Lloyd iterations at most (ml-kmeans' default is 100). */
  maxIterations?: number;
}

export interface SubsetOptions extends KmeansOptions {
  /** target size S */
  size: number;
  stop?: StopRule;
}

export interface Clustering {
  /** cluster of each input row, relabelled so that 0 is the largest cluster */
  assignment: number[];
  /** size of each cluster by (relabelled) label: non-increasing */
  clusterSizes: number[];
  iterations: number;
  converged: boolean;
}

export interface KmeansSubset<T extends PromptId = PromptId> extends Clustering {
  /** the chosen ids, in input order */
  ids: T[];
  size: number;
  target: number;
  /** clusters taken: labels 0 .. clustersUsed - 1 */
  clustersUsed: number;
}

export const KMEANS_MAX_ITERATIONS = 100;

function checkIds(ids: readonly PromptId[]): void {
  if (new Set(ids).size !== ids.length) throw new RangeError('prompt ids must be unique');
}

function toRows(embeddings: EmbeddingRows): number[][] {
  if (embeddings.length === 0) throw new RangeError('no embeddings');
  const dim = embeddings[0].length;
  return embeddings.map((row, i) => {
    if (row.length !== dim) throw new RangeError(`embedding ${i} has ${row.length} dimensions, expected ${dim}`);
    const out = Array.from(row);
    if (!out.every(Number.isFinite)) throw new RangeError(`embedding ${i} has a non-finite value`);
    return out;
  });
}

/** Whether there are at least k distinct rows (stops as soon as it has seen k). */
function hasDistinctRows(rows: number[][], k: number): boolean {
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.join(','));
    if (seen.size >= k) return true;
  }
  return false;
}

/** k-means++ (seeded) over the rows, clusters relabelled by size. */
export function kmeansClusters(embeddings: EmbeddingRows, opts: KmeansOptions): Clustering {
  const { clusters: K, seed } = opts;
  const maxIterations = opts.maxIterations ?? KMEANS_MAX_ITERATIONS;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`clusters must be a positive integer, got ${K}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new RangeError(`maxIterations must be a positive integer, got ${maxIterations}`);
  const rows = toRows(embeddings);
  if (K > rows.length) throw new RangeError(`cannot make ${K} clusters of ${rows.length} prompts`);
  // k-means++ draws each new centre in proportion to its squared distance to
  // the chosen ones: with fewer distinct points than K those all become 0.
  if (!hasDistinctRows(rows, K)) throw new RangeError(`fewer than ${K} distinct embeddings: cannot make ${K} clusters`);
  const res = kmeans(rows, K, { initialization: 'kmeans++', seed, maxIterations });
  const sizes = Array(K).fill(0) as number[];
  const first = Array(K).fill(Infinity) as number[];
  res.clusters.forEach((c, i) => {
    sizes[c]++;
    if (first[c] === Infinity) first[c] = i;
  });
  const order = Array.from({ length: K }, (_, c) => c).sort((a, b) => sizes[b] - sizes[a] || first[a] - first[b] || a - b);
  const rank = Array(K) as number[];
  order.forEach((c, r) => (rank[c] = r));
  return {
    assignment: res.clusters.map((c) => rank[c]),
    clusterSizes: order.map((c) => sizes[c]),
    iterations: res.iterations,
    converged: res.converged,
  };
}

/** How many of the largest clusters make a subset of target size `size`. */
export function clustersToTake(clusterSizes: readonly number[], size: number, stop: StopRule = 'at-least'): number {
  let count = 0;
  for (let m = 0; m < clusterSizes.length; m++) {
    const next = count + clusterSizes[m];
    if (stop === 'nearest' && count > 0 && Math.abs(next - size) >= Math.abs(count - size)) return m;
    count = next;
    if (stop === 'at-least' && count >= size) return m + 1;
  }
  return clusterSizes.length;
}

/** The subset made of whole clusters 0 .. m-1 of a clustering. */
export function subsetFromClusters<T extends PromptId>(ids: readonly T[], clustering: Clustering, size: number, stop: StopRule = 'at-least'): KmeansSubset<T> {
  if (ids.length !== clustering.assignment.length) throw new RangeError('ids and clustering differ in length');
  if (!Number.isInteger(size) || size < 1 || size > ids.length) throw new RangeError(`subset size must be an integer in [1, ${ids.length}], got ${size}`);
  const m = clustersToTake(clustering.clusterSizes, size, stop);
  const chosen = ids.filter((_, i) => clustering.assignment[i] < m);
  return { ...clustering, ids: chosen, size: chosen.length, target: size, clustersUsed: m };
}

/** SPEC 11 K-means subset of target size opts.size (see the stopping rule above). */
export function kmeansSubset<T extends PromptId>(embeddings: EmbeddingRows, ids: readonly T[], opts: SubsetOptions): KmeansSubset<T> {
  checkIds(ids);
  if (embeddings.length !== ids.length) throw new RangeError(`${embeddings.length} embeddings for ${ids.length} ids`);
  if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > ids.length) {
    throw new RangeError(`subset size must be an integer in [1, ${ids.length}], got ${opts.size}`);
  }
  return subsetFromClusters(ids, kmeansClusters(embeddings, opts), opts.size, opts.stop);
}

/** `size` ids drawn uniformly without replacement (seeded), in input order. */
export function randomSubset<T extends PromptId>(ids: readonly T[], size: number, seed: number): T[] {
  checkIds(ids);
  if (!Number.isInteger(size) || size < 0 || size > ids.length) throw new RangeError(`subset size must be an integer in [0, ${ids.length}], got ${size}`);
  return Rng.derived(seed, 'data/random-subset').sampleIndices(ids.length, size).map((i) => ids[i]);
}

/**
 * A random subset with as many ids as the K-means subset of target `size`
 * over `clustering` takes (same stopping rule), so that the two differ in
 * diversity and not in size.
 */
export function matchedRandomSubset<T extends PromptId>(ids: readonly T[], clustering: Clustering, size: number, seed: number, stop: StopRule = 'at-least'): T[] {
  return randomSubset(ids, subsetFromClusters(ids, clustering, size, stop).size, seed);
}

/** Number of distinct clusters that the ids of `subset` fall in (assignment aligned with `ids`). */
export function clusterCoverage(subset: readonly PromptId[], ids: readonly PromptId[], assignment: readonly number[]): number {
  if (ids.length !== assignment.length) throw new RangeError('ids and assignment differ in length');
  const clusterOf = new Map<PromptId, number>();
  ids.forEach((id, i) => clusterOf.set(id, assignment[i]));
  const seen = new Set<number>();
  for (const id of subset) {
    const c = clusterOf.get(id);
    if (c === undefined) throw new RangeError(`id ${String(id)} is not among the clustered ids`);
    seen.add(c);
  }
  return seen.size;
}
