// The one source of randomness in rlgrid. Every draw comes from a seeded
// xoroshiro128+ stream whose state can be saved in a checkpoint and restored,
// so a resumed job draws exactly what an uninterrupted one would have drawn.
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { createHash } from 'node:crypto';

type Gen = ReturnType<typeof xoroshiro128plus>;

export class Rng {
  private constructor(private gen: Gen) {}

  /** A stream for a seed. The seed is hashed first: xoroshiro's first draws
   * from small raw seeds (1, 2, 3...) are nearly identical across seeds. */
  static seeded(seed: number): Rng {
    return Rng.derived(seed, '');
  }

  /** A stream derived from a seed and a label: independent streams per purpose. */
  static derived(seed: number, label: string): Rng {
    const h = createHash('sha256').update(`${seed}:${label}`).digest();
    return new Rng(xoroshiro128plus(h.readInt32LE(0)));
  }

  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  state(): number[] {
    return [...this.gen.getState()];
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return uniformInt(this.gen, lo, hi);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('Rng.pick on an empty list');
    return xs[this.int(0, xs.length - 1)];
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffled<T>(xs: readonly T[]): T[] {
    const out = xs.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** k distinct indices from [0, n), in increasing order. */
  sampleIndices(n: number, k: number): number[] {
    if (k > n) throw new Error(`cannot sample ${k} of ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = this.int(i, n - 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, k).sort((a, b) => a - b);
  }
}
