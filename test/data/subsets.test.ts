import assert from 'node:assert/strict';
import {
  clusterCoverage,
  clustersToTake,
  kmeansClusters,
  kmeansSubset,
  matchedRandomSubset,
  randomSubset,
  subsetFromClusters,
} from '../../src/data/subsets.ts';
import { Rng } from '../../src/util/rng.ts';

/** Well-separated Gaussian blobs of the given sizes in `dim` dimensions, rows shuffled. */
function blobs(sizes: number[], dim: number, seed: number): { rows: number[][]; truth: number[] } {
  const rng = Rng.seeded(seed);
  const centres = sizes.map(() => Array.from({ length: dim }, () => rng.float() * 100));
  const pts: { row: number[]; c: number }[] = [];
  sizes.forEach((n, c) => {
    for (let i = 0; i < n; i++) pts.push({ row: centres[c].map((x) => x + rng.normal()), c });
  });
  const shuffled = rng.shuffled(pts);
  return { rows: shuffled.map((p) => p.row), truth: shuffled.map((p) => p.c) };
}

const SIZES = [400, 250, 150, 100, 50, 30, 15, 5];
const { rows: ROWS, truth: TRUTH } = blobs(SIZES, 8, 42);
const IDS = ROWS.map((_, i) => `p${i}`);

describe('data/subsets', () => {
  it('clustersToTake: at-least stops at the first cluster reaching S; nearest stops closest to S', () => {
    const sizes = [5, 3, 2, 1];
    assert.equal(clustersToTake(sizes, 5), 1);
    assert.equal(clustersToTake(sizes, 6), 2); // 5 < 6, 8 >= 6
    assert.equal(clustersToTake(sizes, 9), 3); // 5, 8, 10
    assert.equal(clustersToTake(sizes, 11), 4);
    assert.equal(clustersToTake(sizes, 6, 'nearest'), 1); // |5-6| = 1 < |8-6| = 2
    assert.equal(clustersToTake(sizes, 7, 'nearest'), 2); // |8-7| = 1 < |5-7| = 2
    assert.equal(clustersToTake(sizes, 9, 'nearest'), 2); // |8-9| = |10-9|: the smaller count
    assert.equal(clustersToTake(sizes, 1, 'nearest'), 1); // at least one cluster
  });

  it('recovers well-separated clusters, relabelled largest first', () => {
    const c = kmeansClusters(ROWS, { clusters: 8, seed: 1 });
    assert.deepEqual(c.clusterSizes, SIZES);
    // each found cluster is exactly one true blob (blob sizes are all different)
    for (let i = 0; i < ROWS.length; i++) assert.equal(c.assignment[i], TRUTH[i]);
    assert.ok(c.converged && c.iterations <= 100);
  });

  it('a K-means subset takes whole clusters until it holds >= S prompts', () => {
    const s = kmeansSubset(ROWS, IDS, { clusters: 8, seed: 1, size: 500 });
    assert.equal(s.size, 650); // 400 < 500, 400 + 250 >= 500
    assert.equal(s.clustersUsed, 2);
    assert.equal(s.ids.length, 650);
    assert.equal(s.target, 500);
    // in original order, and exactly the members of clusters 0 and 1
    const expected = IDS.filter((_, i) => TRUTH[i] <= 1);
    assert.deepEqual(s.ids, expected);
    const near = kmeansSubset(ROWS, IDS, { clusters: 8, seed: 1, size: 500, stop: 'nearest' });
    assert.equal(near.size, 400);
  });

  it('is deterministic for a seed and accepts Float32Array rows', () => {
    const f32 = ROWS.map((r) => Float32Array.from(r));
    const a = kmeansClusters(f32, { clusters: 5, seed: 9 });
    const b = kmeansClusters(f32, { clusters: 5, seed: 9 });
    assert.deepEqual(a, b);
    // the same float32 values as number[][] cluster identically
    const c = kmeansClusters(
      f32.map((r) => Array.from(r)),
      { clusters: 5, seed: 9 },
    );
    assert.deepEqual(a, c);
    assert.equal(a.clusterSizes.reduce((x, y) => x + y, 0), ROWS.length);
  });

  it('maxIterations bounds the Lloyd iterations', () => {
    const c = kmeansClusters(ROWS, { clusters: 20, seed: 3, maxIterations: 2 });
    assert.ok(c.iterations <= 2);
  });

  it('orders clusters of equal size by their first member', () => {
    // two clusters of 2: the one holding row 0 (near (10, 10)) becomes label 0
    const rows = [
      [10, 10],
      [10, 11],
      [0, 0],
      [0, 1],
    ];
    for (const seed of [1, 2, 3, 4]) {
      const c = kmeansClusters(rows, { clusters: 2, seed });
      assert.deepEqual(c.assignment, [0, 0, 1, 1]);
    }
  });

  it('K-means subsets touch fewer clusters than random subsets of the same size', () => {
    const k = kmeansSubset(ROWS, IDS, { clusters: 8, seed: 1, size: 200 });
    assert.equal(k.size, 400);
    const r = randomSubset(IDS, k.size, 1);
    const kCov = clusterCoverage(k.ids, IDS, k.assignment);
    const rCov = clusterCoverage(r, IDS, k.assignment);
    assert.equal(kCov, 1);
    // 400 of 1000 at random touch nearly every blob (the smallest has 5: P(miss) ~ 0.6^5)
    assert.ok(rCov >= 7, `random coverage ${rCov}`);
    // with finer clusters the gap remains
    const k20 = kmeansSubset(ROWS, IDS, { clusters: 20, seed: 2, size: 300 });
    const r20 = randomSubset(IDS, k20.size, 2);
    assert.ok(clusterCoverage(k20.ids, IDS, k20.assignment) < clusterCoverage(r20, IDS, k20.assignment));
  });

  it('subsetFromClusters reuses a clustering for several sizes', () => {
    const c = kmeansClusters(ROWS, { clusters: 8, seed: 1 });
    assert.deepEqual(
      [100, 400, 401, 800, 1000].map((s) => subsetFromClusters(IDS, c, s).size),
      [400, 400, 650, 800, 950 + 30 + 15 + 5],
    );
  });

  it('matched random subsets take the K-means subset\'s size (its stopping rule), not the target', () => {
    const c = kmeansClusters(ROWS, { clusters: 8, seed: 1 });
    // sizes 400, 250, 150, ...: target 500 -> at-least 650, nearest 400 (|400 - 500| < |650 - 500|)
    const atLeast = matchedRandomSubset(IDS, c, 500, 7);
    const nearest = matchedRandomSubset(IDS, c, 500, 7, 'nearest');
    assert.deepEqual([atLeast.length, nearest.length], [650, 400]);
    assert.deepEqual(nearest, randomSubset(IDS, 400, 7)); // the same draw as a random subset of that size
    // drawn across clusters, unlike the K-means subset of the same size (one whole cluster)
    assert.equal(clusterCoverage(nearest, IDS, c.assignment), 8);
    assert.equal(clusterCoverage(subsetFromClusters(IDS, c, 500, 'nearest').ids, IDS, c.assignment), 1);
  });

  it('random subsets: uniform without replacement, in input order, seeded', () => {
    const a = randomSubset(IDS, 100, 7);
    assert.equal(a.length, 100);
    assert.equal(new Set(a).size, 100);
    const pos = a.map((id) => IDS.indexOf(id));
    assert.deepEqual(pos, pos.slice().sort((x, y) => x - y));
    assert.deepEqual(randomSubset(IDS, 100, 7), a);
    assert.notDeepEqual(randomSubset(IDS, 100, 8), a);
    assert.deepEqual(randomSubset(IDS, 0, 7), []);
    assert.deepEqual(randomSubset(IDS, IDS.length, 7), IDS);
    // roughly uniform: over 2000 draws of 1 from 4, each id about 500 times
    const counts = new Map<string, number>();
    for (let s = 0; s < 2000; s++) {
      const [id] = randomSubset(['a', 'b', 'c', 'd'], 1, s);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c', 'd']) assert.ok(Math.abs((counts.get(id) ?? 0) - 500) < 100, `${id}: ${counts.get(id)}`);
  });

  it('rejects bad input', () => {
    assert.throws(() => kmeansSubset(ROWS, IDS, { clusters: 8, seed: 1, size: 1001 }), RangeError);
    assert.throws(() => kmeansSubset(ROWS.slice(0, 3), ['a', 'b', 'c'], { clusters: 4, seed: 1, size: 2 }), RangeError);
    assert.throws(() => kmeansSubset([[1], [2]], ['a', 'a'], { clusters: 1, seed: 1, size: 1 }), RangeError);
    assert.throws(() => kmeansClusters([[1, 2], [3]], { clusters: 1, seed: 1 }), RangeError);
    assert.throws(() => kmeansClusters([[1], [1], [1]], { clusters: 2, seed: 1 }), /distinct/);
    assert.throws(() => randomSubset(['a'], 2, 1), RangeError);
    assert.throws(() => clusterCoverage(['zz'], IDS, TRUTH), RangeError);
  });
});
