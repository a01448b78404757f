import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheKey, cachedEmbeddings, cachedJson, cachedSubset, embeddingRows, type CachedSubsetValue, type Embeddings } from '../../src/data/cache.ts';

const KEY = { modelHash: 'm1', datasetHash: 'd1', K: 8, seed: 1, size: 500 };

describe('data/cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-cache-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const never = (): never => {
    throw new Error('compute must not be called on a cache hit');
  };

  it('a second call with the same key reads the cache and does not compute', async () => {
    let calls = 0;
    const value = { ids: ['a', 'c'], size: 2, clustersUsed: 1 };
    const first = await cachedSubset(dir, KEY, () => {
      calls++;
      return value;
    });
    assert.equal(first.hit, false);
    assert.equal(calls, 1);
    assert.equal(path.dirname(first.file), dir);
    assert.match(path.basename(first.file), /^[0-9a-f]{64}\.json$/);
    const second = await cachedSubset(dir, { ...KEY }, never);
    assert.equal(second.hit, true);
    assert.deepEqual(second.value, value);
    assert.equal(second.file, first.file);
  });

  it('the file name is the sha256 of the key, independent of key order; any change is a miss', async () => {
    assert.equal(cacheKey('f', { a: 1, b: 2 }), cacheKey('f', { b: 2, a: 1 }));
    await cachedSubset(dir, KEY, () => ({ ids: [1], size: 1 }));
    let calls = 0;
    for (const other of [{ ...KEY, seed: 2 }, { ...KEY, K: 9 }, { ...KEY, modelHash: 'm2' }, { ...KEY, datasetHash: 'd2' }, { ...KEY, size: 501 }]) {
      const r = await cachedSubset(dir, other, () => {
        calls++;
        return { ids: [2], size: 1 };
      });
      assert.equal(r.hit, false);
    }
    assert.equal(calls, 5);
  });

  it('a corrupt entry is recomputed and rewritten, not a crash', async () => {
    const first = await cachedSubset(dir, KEY, () => ({ ids: ['a'], size: 1 }));
    fs.writeFileSync(first.file, '{"format": "rlgrid-cache-json/1", "key": ');
    const again = await cachedSubset(dir, KEY, () => ({ ids: ['b'], size: 1 }));
    assert.equal(again.hit, false);
    assert.match(again.rejected ?? '', /corrupt JSON/);
    assert.deepEqual(again.value.ids, ['b']);
    const third = await cachedSubset<CachedSubsetValue>(dir, KEY, never);
    assert.equal(third.hit, true);
    assert.deepEqual(third.value.ids, ['b']);
  });

  it('an entry with a wrong shape or another key is recomputed', async () => {
    const first = await cachedSubset(dir, KEY, () => ({ ids: ['a', 'b'], size: 2 }));
    const entry = JSON.parse(fs.readFileSync(first.file, 'utf8'));
    entry.value.size = 3; // does not match the ids
    fs.writeFileSync(first.file, JSON.stringify(entry));
    const r = await cachedSubset(dir, KEY, () => ({ ids: ['x'], size: 1 }));
    assert.equal(r.rejected, 'invalid value');
    // an entry copied under another key's name
    const other = await cachedSubset(dir, { ...KEY, seed: 99 }, () => ({ ids: ['y'], size: 1 }));
    fs.copyFileSync(r.file, other.file);
    const back = await cachedSubset(dir, { ...KEY, seed: 99 }, () => ({ ids: ['z'], size: 1 }));
    assert.equal(back.rejected, 'key mismatch');
    assert.deepEqual(back.value.ids, ['z']);
  });

  it('cachedJson takes an async compute and leaves no temp files', async () => {
    const r = await cachedJson(dir, { x: 1 }, async () => ({ centroids: [[1, 2]] }));
    assert.equal(r.hit, false);
    assert.deepEqual((await cachedJson(dir, { x: 1 }, never)).value, { centroids: [[1, 2]] });
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  describe('embeddings', () => {
    const EMB: Embeddings = { n: 3, dim: 2, data: Float32Array.from([0.1, -2, 3.5, 1e-8, 7, Math.PI]) };

    it('round-trips float32 rows through a binary file and hits on the second call', async () => {
      const a = await cachedEmbeddings(dir, { modelHash: 'm', datasetHash: 'd' }, () => EMB);
      assert.equal(a.hit, false);
      assert.match(path.basename(a.file), /^[0-9a-f]{64}\.f32$/);
      assert.equal(fs.statSync(a.file).size, 3 * 2 * 4);
      const b = await cachedEmbeddings(dir, { modelHash: 'm', datasetHash: 'd' }, never);
      assert.equal(b.hit, true);
      assert.deepEqual([b.value.n, b.value.dim], [3, 2]);
      assert.deepEqual(Array.from(b.value.data), Array.from(EMB.data));
      assert.deepEqual(
        embeddingRows(b.value).map((r) => Array.from(r)),
        [
          [EMB.data[0], EMB.data[1]],
          [EMB.data[2], EMB.data[3]],
          [EMB.data[4], EMB.data[5]],
        ],
      );
    });

    it('a truncated or altered binary is recomputed', async () => {
      const a = await cachedEmbeddings(dir, { m: 1 }, () => EMB);
      fs.truncateSync(a.file, 10);
      const b = await cachedEmbeddings(dir, { m: 1 }, () => EMB);
      assert.equal(b.rejected, 'size mismatch');
      const bytes = fs.readFileSync(b.file);
      bytes[5] ^= 0xff;
      fs.writeFileSync(b.file, bytes);
      const c = await cachedEmbeddings(dir, { m: 1 }, () => EMB);
      assert.equal(c.rejected, 'checksum mismatch');
      fs.rmSync(c.file);
      const d = await cachedEmbeddings(dir, { m: 1 }, () => EMB);
      assert.match(d.rejected ?? '', /ENOENT/);
      assert.equal((await cachedEmbeddings(dir, { m: 1 }, never)).hit, true);
    });

    it('refuses to store data that does not fill n x dim', async () => {
      await assert.rejects(cachedEmbeddings(dir, { m: 2 }, () => ({ n: 2, dim: 2, data: new Float32Array(3) })), RangeError);
    });
  });
});
