// Token batches for the training path: right-padded inputs, next-token
// targets and a mask over the response tokens.
import * as tf from '@tensorflow/tfjs';

export interface PaddedBatch {
  /** [B, T] input ids: seq[0 .. T-1], PAD (0) after the end */
  input: tf.Tensor2D;
  /** [B, T] target ids: seq[1 .. T] (position t predicts token t + 1) */
  target: tf.Tensor2D;
  /** [B, T] 1 where the target is a response token (EOS included), else 0 */
  mask: tf.Tensor2D;
  maskData: Float32Array;
  /** [B] input tokens per row (seq length - 1): the rest of the row is padding */
  lengths: Int32Array;
}

/**
 * `seqs` are BOS + prompt + response; `promptLens` count BOS + prompt. T is
 * the longest input rounded up to a multiple of 8 (at most the context) so the
 * compiled kernel shapes stay few; padding positions are masked out.
 */
export function padBatch(seqs: readonly number[][], promptLens: readonly number[], context: number): PaddedBatch {
  const B = seqs.length;
  const longest = Math.max(...seqs.map((s) => s.length - 1));
  const T = Math.min(context, Math.ceil(longest / 8) * 8);
  if (longest > T) throw new Error(`a sequence of ${longest + 1} tokens exceeds the model context ${context} (+1 target)`);
  const inp = new Int32Array(B * T);
  const tgt = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  seqs.forEach((s, b) => {
    for (let i = 0; i + 1 < s.length; i++) {
      inp[b * T + i] = s[i];
      tgt[b * T + i] = s[i + 1];
      if (i + 1 >= promptLens[b]) mask[b * T + i] = 1;
    }
  });
  return {
    input: tf.tensor2d(inp, [B, T], 'int32'),
    target: tf.tensor2d(tgt, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T]),
    maskData: mask,
    lengths: Int32Array.from(seqs, (s) => Math.max(0, s.length - 1)),
  };
}
