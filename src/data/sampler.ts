// Walks a training subset in seeded, shuffled epochs, B prompt ids at a time.
// Epoch e (1-based) visits every id once, in the order of a Fisher-Yates
// shuffle drawn from Rng.derived(seed, 'data/epoch-sampler/<e>'), so any epoch
// can be rebuilt from (seed, e) alone. A batch that runs past the end of an
// epoch continues with the start of the next epoch's order (so one batch can
// hold the same id twice when it straddles a boundary, or when B > size).
//
// The epoch of a batch is the epoch of its last prompt. With that rule the
// last of `steps` batches falls in epoch ceil(steps * B / size) exactly, the E
// of epoch-wise reweighting (SPEC 8: lambda = (e - 1) / (E - 1)), and for
// B <= size every epoch 1..E has batches.
//
// State for checkpoints is {seed, batchSize, size, idsHash, drawn}: resuming
// from it with the same ids yields exactly the sequence an uninterrupted
// sampler would have yielded.
import { contentHash } from '../util/canonical.ts';
import { Rng } from '../util/rng.ts';
import type { PromptId } from './subsets.ts';

export interface EpochSamplerState {
  version: 1;
  seed: number;
  batchSize: number;
  /** number of ids in the subset */
  size: number;
  /** contentHash of the ids, to refuse resuming over a different subset */
  idsHash: string;
  /** prompts handed out so far */
  drawn: number;
}

export interface Batch<T extends PromptId> {
  ids: T[];
  /** 1-based epoch of the batch's last prompt */
  epoch: number;
  /** 0-based index of this batch */
  step: number;
}

/** E = ceil(steps * B / size): the number of epochs `steps` batches touch. */
export function totalEpochs(steps: number, batchSize: number, size: number): number {
  for (const [k, v] of [['steps', steps], ['batchSize', batchSize], ['size', size]] as const) {
    if (!Number.isInteger(v) || v < (k === 'steps' ? 0 : 1)) throw new RangeError(`${k} must be a ${k === 'steps' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  return Math.ceil((steps * batchSize) / size);
}

/** Epoch (1-based) of the 0-based batch `step`: that of its last prompt. */
export function epochOfStep(step: number, batchSize: number, size: number): number {
  return Math.floor(((step + 1) * batchSize - 1) / size) + 1;
}

export class EpochSampler<T extends PromptId> {
  private readonly ids: readonly T[];
  private readonly seed: number;
  readonly batchSize: number;
  private readonly idsHash: string;
  private drawnCount = 0;
  private orderEpoch = 0;
  private order: T[] = [];

  constructor(ids: readonly T[], opts: { batchSize: number; seed: number }) {
    if (ids.length === 0) throw new RangeError('EpochSampler needs at least one id');
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (!Number.isInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
    this.ids = ids.slice();
    this.seed = opts.seed;
    this.batchSize = opts.batchSize;
    this.idsHash = contentHash(this.ids);
  }

  static fromState<T extends PromptId>(ids: readonly T[], state: EpochSamplerState): EpochSampler<T> {
    if (state.version !== 1) throw new RangeError(`unknown EpochSampler state version ${String(state.version)}`);
    const s = new EpochSampler(ids, { batchSize: state.batchSize, seed: state.seed });
    if (state.size !== ids.length || state.idsHash !== s.idsHash) throw new RangeError('EpochSampler state belongs to a different subset');
    if (!Number.isInteger(state.drawn) || state.drawn < 0) throw new RangeError(`bad drawn count ${state.drawn}`);
    s.drawnCount = state.drawn;
    return s;
  }

  state(): EpochSamplerState {
    return { version: 1, seed: this.seed, batchSize: this.batchSize, size: this.ids.length, idsHash: this.idsHash, drawn: this.drawnCount };
  }

  get size(): number {
    return this.ids.length;
  }

  /** Prompts handed out so far. */
  get drawn(): number {
    return this.drawnCount;
  }

  /** Batches handed out so far (when every batch had batchSize prompts: always). */
  get step(): number {
    return Math.floor(this.drawnCount / this.batchSize);
  }

  /** Epoch (1-based) of the most recent batch; 1 before the first. */
  get epoch(): number {
    return this.drawnCount === 0 ? 1 : Math.floor((this.drawnCount - 1) / this.ids.length) + 1;
  }

  /** E for a run of `steps` batches over this subset. */
  totalEpochs(steps: number): number {
    return totalEpochs(steps, this.batchSize, this.ids.length);
  }

  /** The order in which epoch e (1-based) visits the ids (a copy). */
  epochOrder(e: number): T[] {
    if (!Number.isInteger(e) || e < 1) throw new RangeError(`epochs are numbered from 1, got ${e}`);
    return this.orderOf(e).slice();
  }

  private orderOf(e: number): T[] {
    if (this.orderEpoch !== e) {
      this.order = Rng.derived(this.seed, `data/epoch-sampler/${e}`).shuffled(this.ids);
      this.orderEpoch = e;
    }
    return this.order;
  }

  next(): Batch<T> {
    const step = this.step;
    const out: T[] = [];
    for (let i = 0; i < this.batchSize; i++) {
      const e = Math.floor(this.drawnCount / this.ids.length) + 1;
      out.push(this.orderOf(e)[this.drawnCount % this.ids.length]);
      this.drawnCount++;
    }
    return { ids: out, epoch: this.epoch, step };
  }
}
