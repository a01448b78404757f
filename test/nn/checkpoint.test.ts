import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/nn/backend.ts';
import {
  loadCheckpoint,
  loadModelCheckpoint,
  recover,
  restoreModelCheckpoint,
  saveCheckpoint,
  saveModelCheckpoint,
  type TensorSet,
} from '../../src/nn/checkpoint.ts';
import { createModel, disposeModel, getWeights, tokenLogProbsAndEntropy, type Model, type ModelConfig } from '../../src/nn/model/index.ts';
import { AdamW } from '../../src/nn/optim.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';
import { TEST_OPT as OPT } from '../helpers/backend.ts';

const CFG: ModelConfig = { vocab: 9, context: 12, d_model: 8, heads: 2, layers: 1, mlp_ratio: 2 };

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** the error is a UserError whose message names `file` and matches `re` */
function userError(file: string, re: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(e.message.includes(file), `the message should name ${file}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
}

describe('nn/checkpoint', () => {
  let tmp = '';
  let prev = '';
  before(async () => {
    prev = tf.getBackend();
    await initBackend('wasm', 1);
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlgrid-ckpt-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const special = () => {
    const a = new Float32Array([0, -0, 1.5, -2.25, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, NaN]);
    new Uint32Array(a.buffer)[8] = 0x7fc01234; // a NaN with a payload
    return a;
  };

  it('round-trips tensors bit for bit, with metadata, and records the sha256 of the binary', () => {
    const dir = path.join(tmp, 'ck');
    const tensors: TensorSet = {
      'model/w': { shape: [3, 3], data: special() },
      'adam.m/w': { shape: [2], data: new Float32Array([0.1, 0.2]) },
      empty: { shape: [0], data: new Float32Array(0) },
    };
    const meta = { step: 7, rng: Rng.seeded(3).state(), note: 'x' };
    saveCheckpoint(dir, tensors, meta);
    assert.deepEqual(fs.readdirSync(tmp), ['ck'], 'no temporary directories left behind');
    const back = loadCheckpoint(dir);
    assert.deepEqual(Object.keys(back.tensors), Object.keys(tensors));
    for (const [k, t] of Object.entries(tensors)) {
      assert.deepEqual(back.tensors[k].shape, t.shape);
      assert.deepEqual(bits(back.tensors[k].data), bits(t.data), k);
    }
    assert.deepEqual(back.meta, meta);
    const sc = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(dir, 'tensors.bin'));
    assert.equal(sc.sha256, createHash('sha256').update(bin).digest('hex'));
    assert.equal(sc.bytes, bin.byteLength);
    assert.equal(bin.byteLength, (9 + 2) * 4);
  });

  it('rejects truncated, corrupt, missing, foreign and mismatched checkpoints with an error naming the file', () => {
    const dir = path.join(tmp, 'ck');
    const bin = path.join(dir, 'tensors.bin');
    const json = path.join(dir, 'checkpoint.json');
    saveCheckpoint(dir, { w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } }, { step: 1 });
    const good = fs.readFileSync(bin);
    fs.writeFileSync(bin, good.subarray(0, 10));
    assert.throws(() => loadCheckpoint(dir), userError(bin, /truncated/));
    const bad = Buffer.from(good);
    bad[3] ^= 1;
    fs.writeFileSync(bin, bad);
    assert.throws(() => loadCheckpoint(dir), userError(bin, /corrupt/));
    fs.writeFileSync(bin, good);
    assert.throws(() => loadCheckpoint(dir, [{ name: 'w', shape: [2, 2] }]), userError(json, /shape \[4\], expected \[2,2\]/));
    assert.throws(() => loadCheckpoint(dir, [{ name: 'v', shape: [4] }]), userError(json, /v is missing/));
    assert.equal(loadCheckpoint(dir, [{ name: 'w', shape: [4] }]).tensors.w.data[3], 4);
    const sc = JSON.parse(fs.readFileSync(json, 'utf8'));
    fs.writeFileSync(json, JSON.stringify({ ...sc, format: 'other' }));
    assert.throws(() => loadCheckpoint(dir), userError(json, /not an rlgrid checkpoint/));
    fs.writeFileSync(json, JSON.stringify({ ...sc, version: 99 }));
    assert.throws(() => loadCheckpoint(dir), userError(json, /version 99/));
    fs.writeFileSync(json, '{"format": "rlgrid-checkp');
    assert.throws(() => loadCheckpoint(dir), userError(json, /corrupt JSON/));
    fs.rmSync(json);
    assert.throws(() => loadCheckpoint(dir), userError(json, /cannot read/));
    assert.throws(() => loadCheckpoint(path.join(tmp, 'nope')), userError(path.join(tmp, 'nope'), /does not exist/));
  });

  it('replaces an existing checkpoint atomically and recovers from a crash mid-swap', () => {
    const dir = path.join(tmp, 'last');
    const v = (x: number) => ({ w: { shape: [1], data: new Float32Array([x]) } });
    saveCheckpoint(dir, v(1), { step: 1 });
    saveCheckpoint(dir, v(2), { step: 2 });
    assert.equal(loadCheckpoint(dir).meta.step, 2);
    assert.deepEqual(fs.readdirSync(tmp), ['last']);
    // crash after the old one moved aside, before the new one was renamed in
    fs.renameSync(dir, `${dir}.old`);
    saveCheckpoint(path.join(tmp, 'staging'), v(3), { step: 3 });
    fs.renameSync(path.join(tmp, 'staging'), `${dir}.tmp`);
    assert.equal(loadCheckpoint(dir).meta.step, 3, 'the complete new checkpoint wins');
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['last']);
    // crash while writing the new one: the old one stays
    fs.renameSync(dir, `${dir}.old`);
    fs.mkdirSync(`${dir}.tmp`);
    fs.writeFileSync(path.join(`${dir}.tmp`, 'tensors.bin'), 'partial');
    recover(dir);
    assert.equal(loadCheckpoint(dir).meta.step, 3);
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['last']);
    // a leftover .tmp next to an intact checkpoint is cleaned up by the next save
    fs.mkdirSync(`${dir}.tmp`);
    saveCheckpoint(dir, v(4), { step: 4 });
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['last']);
    assert.equal(loadCheckpoint(dir).tensors.w.data[0], 4);
  });

  it('model + optimizer: a resumed run continues bit for bit like an uninterrupted one', () => {
    const data = (step: number) => {
      const r = Rng.derived(1, `batch:${step}`);
      const rows = Array.from({ length: 4 }, () => Array.from({ length: 7 }, () => r.int(0, CFG.vocab - 1)));
      return {
        inp: tf.tensor2d(rows.map((x) => x.slice(0, 6)), [4, 6], 'int32'),
        tgt: tf.tensor2d(rows.map((x) => x.slice(1)), [4, 6], 'int32'),
      };
    };
    const trainSteps = (m: Model, opt: AdamW, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        const { inp, tgt } = data(s);
        const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogProbsAndEntropy(m, inp, tgt, 1).logp)) as tf.Scalar, m.params);
        opt.step(grads, 1e-2);
        tf.dispose([value, grads, inp, tgt]);
      }
    };
    const dir = path.join(tmp, 'run', 'checkpoints', 'last');
    // uninterrupted: 6 steps
    const a = createModel(CFG, 4);
    const optA = new AdamW(a.params, OPT);
    trainSteps(a, optA, 0, 6);
    // interrupted after 3, saved, restored into fresh objects, 3 more
    const b = createModel(CFG, 4);
    const optB = new AdamW(b.params, OPT);
    trainSteps(b, optB, 0, 3);
    saveModelCheckpoint(dir, b, { optimizer: optB, meta: { step: 3, rng: Rng.seeded(9).state() } });
    const c = createModel(CFG, 999); // different init: everything must come from the checkpoint
    const optC = new AdamW(c.params, OPT);
    const meta = restoreModelCheckpoint(dir, c, optC);
    assert.equal(meta.step, 3);
    assert.equal(meta.optimizer_step, 3);
    assert.deepEqual(meta.model_config, CFG);
    assert.equal(optC.stepCount, 3);
    trainSteps(c, optC, 3, 6);
    const wa = getWeights(a);
    const wc = getWeights(c);
    wa.forEach((w, i) => assert.deepEqual(bits(w), bits(wc[i]), a.names[i]));
    // a model built from the checkpoint alone has the saved weights
    const { model: d } = loadModelCheckpoint(dir);
    assert.deepEqual(d.config, CFG);
    getWeights(d).forEach((w, i) => assert.deepEqual(bits(w), bits(getWeights(b)[i])));
    // a checkpoint of another shape is refused, naming the file
    const other = createModel({ ...CFG, d_model: 12 }, 1);
    assert.throws(() => restoreModelCheckpoint(dir, other), userError(path.join(dir, 'checkpoint.json'), /d_model is 8 in the checkpoint, 12/));
    for (const m of [a, b, c, d, other]) disposeModel(m);
    for (const o of [optA, optB, optC]) o.dispose();
  });
});
