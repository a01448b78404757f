// The planner's canonical JSON is RFC 8785 exactly as src/util/canonical.ts
// (the canonicalize package) writes it.
import assert from 'node:assert/strict';
import { canonicalFast, configHash } from '../../src/grid/hash.ts';
import { canonicalJson, shortId, contentHash } from '../../src/util/canonical.ts';
import { planGrid } from '../../src/grid/index.ts';
import type { Json } from '../../src/util/objects.ts';
import { REPO } from './helpers.ts';

const VALUES: Json[] = [
  null, true, false, 0, -0, 1, -1.5, 1e21, 1e-7, 123456789012345680000, 0.1 + 0.2, 5e-324, 1.7976931348623157e308,
  '', 'plain', 'quote " backslash \\ slash /', 'tab\t newline\n cr\r nul\u0000 del\u007f', 'unicode é ü 中文 😀', '\u2028\u2029',
  [], [1, [2, [3, {}]]], {}, { b: 1, a: 2, A: 3, _: 4, '10': 5, '9': 6, é: 7, '😀': 8, 'e\u0301': 9 },
  { z: { y: { x: [null, { w: 'v' }] } }, same: { b: 1, a: 1 } },
  { b: 1, a: 2 }, { a: 2, b: 1 }, // the key-order cache must not leak between shapes
  { a: 2, b: 1, c: 0 }, { c: 0, a: 2 },
];

describe('canonical JSON for job ids', () => {
  it('writes exactly what canonicalJson writes', () => {
    for (const v of VALUES) assert.equal(canonicalFast(v), canonicalJson(v), JSON.stringify(v));
  });

  it('agrees on every resolved config of table2, in any order', () => {
    const plan = planGrid('grids/table2.yaml', { root: REPO });
    for (const j of [...plan.jobs].reverse()) {
      const c = j.config as unknown as Json;
      assert.equal(canonicalFast(c), canonicalJson(c));
      assert.deepEqual(configHash(c), { hash: contentHash(c), id: shortId(c) });
    }
  });

  it('refuses what RFC 8785 refuses', () => {
    assert.throws(() => canonicalFast(NaN), /NaN is not allowed/);
    assert.throws(() => canonicalFast({ a: Infinity }), /Infinity is not allowed/);
    assert.throws(() => canonicalFast(['\uD800']), /Lone surrogate/);
    assert.throws(() => canonicalFast({ ['\uDC00x']: 1 }), /Lone surrogate/);
    assert.equal(canonicalFast('\uD83D\uDE00'), '"😀"');
  });
});
