import assert from 'node:assert/strict';
import { getTaskWorld } from '../../src/tasks/index.ts';
import { ARITH_ALPHABET, charTokenizer } from '../../src/tasks/tokenizer.ts';

describe('tasks/tokenizer', () => {
  const tok = getTaskWorld('arith').tokenizer;

  it('has PAD=0, BOS, EOS and at most 48 symbols', () => {
    assert.equal(tok.pad, 0);
    assert.equal(tok.bos, 1);
    assert.equal(tok.eos, 2);
    assert.deepEqual(tok.vocab.slice(0, 3), ['<pad>', '<bos>', '<eos>']);
    assert.equal(tok.size, tok.vocab.length);
    assert.equal(tok.size, 41);
    assert.ok(tok.size <= 48);
    assert.equal(new Set(tok.vocab).size, tok.size);
  });

  it('encodes one id per character, adding no BOS/EOS (hand-worked ids)', () => {
    // vocab: 0 <pad>, 1 <bos>, 2 <eos>, 3.. "0123456789", 13 "+", 14 "-", 15 "*", ... 21 "#", ... 24 "a"
    assert.deepEqual(tok.encode('7+5=12'), [10, 13, 8, 17, 4, 5]);
    assert.deepEqual(tok.encode('#a'), [21, 24]);
    assert.deepEqual(tok.encode(''), []);
  });

  it('round-trips every string over its alphabet', () => {
    const text = ARITH_ALPHABET + 'max:47,82;#82' + 'cnt:b:abcbbac';
    assert.equal(tok.decode(tok.encode(text)), text);
  });

  it('decode skips pad/bos/eos and does not stop at EOS', () => {
    const ids = [tok.bos, ...tok.encode('12'), tok.eos, ...tok.encode('3'), tok.pad, tok.pad];
    assert.equal(tok.decode(ids), '123');
  });

  it('throws on an unknown character, naming it', () => {
    assert.throws(() => tok.encode('7+5 =12'), /" " at 3/);
    assert.throws(() => tok.encode('X'), /"X"/);
    assert.throws(() => tok.encode('z'), /not in the vocabulary/);
  });

  it('throws on an id out of range', () => {
    assert.throws(() => tok.decode([tok.size]), RangeError);
    assert.throws(() => tok.decode([-1]), RangeError);
    assert.throws(() => tok.decode([1.5]), RangeError);
  });

  it('rejects an alphabet with duplicates', () => {
    assert.throws(() => charTokenizer('abca'), /duplicates/);
  });
});
