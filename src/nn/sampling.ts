// Batched generation with a KV cache: prompts are left-padded to a common
// length and decoded in lockstep; each row stops at EOS or at its budget.
// Draws come from the caller's seeded Rng on the CPU (one uniform per active
// row per step, rows in order), from the probabilities the model reported,
// so a run is reproducible and backends agree as far as their floats do.
//
// The log-prob and entropy recorded for each sampled token are those of the
// full distribution softmax(logits / temperature), before top-p truncation
// (what the trainer's old_logp means). On the fast path (tfjs wasm + SIMD)
// they equal, bit for bit, what score() / tokenLogProbsAndEntropy() compute for
// the same token of the same sequence, whatever the padding or the batch; on
// the generic path they agree to float rounding.
import type { Rng } from '../util/rng.ts';
import { createDecoder, type Model } from './model/index.ts';

export interface GenerateOptions {
  temperature: number;
  /** nucleus sampling mass in (0, 1]; 1 = the full distribution */
  topP: number;
  maxNewTokens: number;
  /** end-of-sequence token id: a row stops after sampling it (it is kept in `tokens`) */
  eos: number;
  rng: Rng;
  /** turn response tokens into text (Generation.text); default '' */
  decode?: (tokens: number[]) => string;
  /** rows per decoder (default: all rows at once) */
  batchSize?: number;
}

export interface Generation {
  /** the response tokens (EOS included when sampled) */
  tokens: number[];
  /** log-prob of each response token under softmax(logits / temperature) */
  logp: Float32Array;
  /** entropy of the distribution each response token was drawn from */
  entropy: Float32Array;
  /** EOS was sampled (false: the budget or the context ran out) */
  finished: boolean;
  text: string;
}

/** Pad id for left padding (any valid id: padding is masked out). */
const PAD = 0;

/**
 * Draw an index from `logprobs[off .. off+V)` (natural-log probabilities) with
 * nucleus sampling: the smallest set of most likely tokens (ties by index)
 * whose mass reaches topP, renormalised. `u` is uniform in [0, 1).
 */
export function sampleIndex(logprobs: Float32Array, off: number, V: number, topP: number, u: number): number {
  if (topP >= 1) {
    // the whole distribution in index order, without allocating (the hot path)
    let total = 0;
    for (let j = 0; j < V; j++) total += Math.exp(logprobs[off + j]);
    const target = u * total;
    let acc = 0;
    let last = V - 1;
    for (let j = 0; j < V; j++) {
      const pj = Math.exp(logprobs[off + j]);
      if (pj > 0) last = j;
      acc += pj;
      if (target < acc) return j;
    }
    return last;
  }
  const p = new Float64Array(V);
  let total = 0;
  for (let j = 0; j < V; j++) {
    p[j] = Math.exp(logprobs[off + j]);
    total += p[j];
  }
  let order: number[];
  let mass = total;
  if (topP < 1) {
    order = Array.from({ length: V }, (_, j) => j).sort((a, b) => p[b] - p[a] || a - b);
    let acc = 0;
    let k = 0;
    while (k < V) {
      acc += p[order[k]];
      k++;
      if (acc >= topP * total) break;
    }
    order = order.slice(0, k);
    mass = acc;
  } else {
    order = Array.from({ length: V }, (_, j) => j);
  }
  const target = u * mass;
  let acc = 0;
  for (const j of order) {
    acc += p[j];
    if (target < acc) return j;
  }
  // rounding left target >= acc: the last token with non-zero mass
  for (let k = order.length - 1; k >= 0; k--) if (p[order[k]] > 0) return order[k];
  return order[order.length - 1];
}

function checkOptions(o: GenerateOptions): void {
  if (!(o.temperature > 0)) throw new Error(`temperature must be > 0 (got ${o.temperature})`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top_p must be in (0, 1] (got ${o.topP})`);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`max_new_tokens must be a non-negative integer (got ${o.maxNewTokens})`);
}

/**
 * Sample a response for every prompt (a prompt repeated G times gives G
 * samples). Row b may add up to min(maxNewTokens, context - len(prompt_b))
 * tokens, so its budget does not depend on the other rows.
 */
export function generate(model: Model, prompts: readonly (readonly number[])[], opts: GenerateOptions): Generation[] {
  checkOptions(opts);
  const bs = opts.batchSize ?? prompts.length;
  const out: Generation[] = [];
  for (let i = 0; i < prompts.length; i += Math.max(1, bs)) out.push(...generateBatch(model, prompts.slice(i, i + Math.max(1, bs)), opts));
  return out;
}

function generateBatch(model: Model, prompts: readonly (readonly number[])[], opts: GenerateOptions): Generation[] {
  const cfg = model.config;
  const V = cfg.vocab;
  const B = prompts.length;
  if (B === 0) return [];
  const lens = prompts.map((p) => p.length);
  for (const [i, p] of prompts.entries()) {
    if (p.length < 1) throw new Error(`prompt ${i} is empty (it needs at least a BOS token)`);
    if (p.length > cfg.context) throw new Error(`prompt ${i} has ${p.length} tokens, more than the model context ${cfg.context}`);
  }
  const budget = lens.map((n) => Math.max(0, Math.min(opts.maxNewTokens, cfg.context - n)));
  const S = Math.max(...budget);
  const gens: Generation[] = prompts.map(() => ({ tokens: [], logp: new Float32Array(0), entropy: new Float32Array(0), finished: false, text: '' }));
  if (S > 0) {
    const Tp = Math.max(...lens);
    // columns the cache must hold: the prompt block, then S - 1 fed-back tokens
    // (the last sampled token is never fed); round up so few shapes compile
    const capacity = Math.ceil((Tp + S - 1) / 8) * 8;
    const offsets = new Int32Array(B);
    const tok = new Int32Array(B * Tp).fill(PAD);
    prompts.forEach((p, b) => {
      offsets[b] = Tp - p.length;
      for (let t = 0; t < p.length; t++) tok[b * Tp + offsets[b] + t] = p[t];
    });
    const logp: number[][] = prompts.map(() => []);
    const ent: number[][] = prompts.map(() => []);
    const active = budget.map((n) => n > 0);
    const dec = createDecoder(model, B, opts.temperature, capacity);
    try {
      let st = dec.prefill(tok, Tp, offsets);
      // the decoder's row r is prompt rowOf[r]; finished rows are dropped from
      // the decoder (keep) once they are an eighth of it, which changes no
      // other row's numbers, nor the draws (one per active row, in order)
      let rowOf = Array.from({ length: B }, (_, b) => b);
      const next = new Int32Array(B);
      for (let s = 0; s < S; s++) {
        let live = 0;
        next.fill(PAD);
        rowOf.forEach((b, r) => {
          if (!active[b]) return;
          const j = sampleIndex(st.logprobs, r * V, V, opts.topP, opts.rng.float());
          gens[b].tokens.push(j);
          logp[b].push(st.logprobs[r * V + j]);
          ent[b].push(st.entropy[r]);
          next[r] = j;
          if (j === opts.eos) {
            gens[b].finished = true;
            active[b] = false;
          } else if (gens[b].tokens.length >= budget[b]) {
            active[b] = false;
          }
          if (active[b]) live++;
        });
        if (live === 0) break;
        if (live * 8 <= rowOf.length * 7) {
          const kept = rowOf.flatMap((b, r) => (active[b] ? [r] : []));
          kept.forEach((r, i) => (next[i] = next[r]));
          dec.keep(kept);
          rowOf = kept.map((r) => rowOf[r]);
        }
        st = dec.step(next.subarray(0, rowOf.length));
      }
    } finally {
      dec.dispose();
    }
    gens.forEach((g, b) => {
      g.logp = Float32Array.from(logp[b]);
      g.entropy = Float32Array.from(ent[b]);
    });
  }
  if (opts.decode) for (const g of gens) g.text = opts.decode(g.tokens);
  return gens;
}
