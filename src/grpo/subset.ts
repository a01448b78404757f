// The training subset of a job (SPEC 11): all prompts, a random subset,
// whole K-means clusters of the base model's prompt embeddings, or a random
// subset as large as that K-means subset ('random-matched'). Embeddings
// and clusterings are cached by content (model hash + dataset hash + K +
// seed), so a grid of subset jobs embeds and clusters once.
import type { JobConfig } from '../config/job.ts';
import type { Problem, TaskWorld } from '../tasks/index.ts';
import { cachedEmbeddings, cachedJson, embeddingRows } from '../data/cache.ts';
import { kmeansClusters, matchedRandomSubset, randomSubset, subsetFromClusters, type Clustering } from '../data/subsets.ts';
import { contentHash } from '../util/canonical.ts';
import { meanHidden, type Model } from '../nn/model/index.ts';
import { encodePrompt } from './rollout.ts';

export interface SubsetSelection {
  problems: Problem[];
  /** K-means only: clusters taken and the size of every cluster */
  clustersUsed?: number;
  clusterSizes?: number[];
}

export async function selectTrainingSubset(
  base: { model: Model; hash: string },
  world: TaskWorld,
  cfg: JobConfig,
  cacheDir: string,
): Promise<SubsetSelection> {
  const s = cfg.data.subset;
  const train = world.train;
  if (s.method === 'all') return { problems: train };
  const size = s.size!;
  if (size > train.length) throw new Error(`data.subset.size ${size} exceeds the ${train.length} training prompts`);
  const index = train.map((_, i) => i);
  if (s.method === 'random') return { problems: randomSubset(index, size, s.seed).map((i) => train[i]) };

  const datasetHash = contentHash(train.map((p) => p.prompt));
  const emb = await cachedEmbeddings(cacheDir, { modelHash: base.hash, datasetHash }, () => {
    const rows = meanHidden(base.model, train.map((p) => encodePrompt(world, p)));
    const dim = rows[0].length;
    const data = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => data.set(r, i * dim));
    return { n: rows.length, dim, data };
  });
  const clustering = await cachedJson<Clustering>(cacheDir, { kind: 'kmeans', modelHash: base.hash, datasetHash, K: s.clusters, seed: s.seed }, () =>
    kmeansClusters(embeddingRows(emb.value), { clusters: s.clusters, seed: s.seed }),
  );
  // 'nearest': the study's sizes (10,001 / 5,031 / 2,538 / 1,246 / 616 for
  // targets halving from 10,000) are the whole-cluster counts closest to S.
  if (s.method === 'random-matched')
    return { problems: matchedRandomSubset(index, clustering.value, size, s.seed, 'nearest').map((i) => train[i]), clusterSizes: clustering.value.clusterSizes };
  const sub = subsetFromClusters(index, clustering.value, size, 'nearest');
  return { problems: sub.ids.map((i) => train[i]), clustersUsed: sub.clustersUsed, clusterSizes: clustering.value.clusterSizes };
}
