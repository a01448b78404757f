// Character-level tokenizer over a small fixed alphabet.
import type { Tokenizer } from './types.ts';

export const PAD = '<pad>';
export const BOS = '<bos>';
export const EOS = '<eos>';

class CharTokenizer implements Tokenizer {
  readonly vocab: readonly string[];
  readonly size: number;
  readonly pad = 0;
  readonly bos = 1;
  readonly eos = 2;
  private readonly index: Map<string, number>;

  constructor(chars: string) {
    const symbols = [...chars];
    if (new Set(symbols).size !== symbols.length) throw new Error('tokenizer alphabet has duplicates');
    this.vocab = Object.freeze([PAD, BOS, EOS, ...symbols]);
    this.size = this.vocab.length;
    this.index = new Map(symbols.map((c, i) => [c, i + 3]));
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const id = this.index.get(text[i]);
      if (id === undefined) {
        throw new Error(`tokenizer: character ${JSON.stringify(text[i])} at ${i} of ${JSON.stringify(text)} is not in the vocabulary`);
      }
      ids.push(id);
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new RangeError(`tokenizer: id ${id} out of range [0, ${this.size})`);
      if (id === this.pad || id === this.bos || id === this.eos) continue;
      out += this.vocab[id];
    }
    return out;
  }
}

/**
 * The arith world's alphabet: digits, operators and separators, then the
 * letters of the keywords (max, min, sum, cnt, rep) and of the out-of-domain
 * words (a-h). 41 symbols with the three specials.
 */
export const ARITH_ALPHABET = '0123456789+-*%=:;,#<>abcdefghimnprstux';

export function charTokenizer(chars: string): Tokenizer {
  return new CharTokenizer(chars);
}
