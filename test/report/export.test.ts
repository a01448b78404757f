// rlgrid export: TensorBoard event files read back by an independent reader
// (TFRecord framing, CRCs, Event protobuf parsed here), and the long CSV /
// JSON Lines round-tripping every number.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { exportRecords, jobRows } from '../../src/report/export.ts';
import { csvQuote, parseCsv } from '../../src/report/format.ts';
import { loadGridRecords } from '../../src/report/load.ts';
import { crc32c, maskedCrc32c } from '../../src/report/tensorboard.ts';
import { BIN, ROOT } from '../exec/fixtures.ts';
import { entropyTenK, methodsFixture, probeTenK, tmpDir } from './fixture.ts';

// ---- an independent reader of the documented format

interface Field {
  no: number;
  wire: number;
  value: bigint | Uint8Array | number;
}

/** Decode one protobuf message into its fields (varint, fixed64 as double, length-delimited, fixed32 as float). */
function fields(buf: Uint8Array): Field[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: dv.getFloat64(i, true) });
      i += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      out.push({ no, wire, value: buf.subarray(i, i + n) });
      i += n;
    } else if (wire === 5) {
      out.push({ no, wire, value: dv.getFloat32(i, true) });
      i += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

interface Event {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: Map<string, number>;
}

function readEvents(file: string): Event[] {
  const buf = new Uint8Array(fs.readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: Event[] = [];
  let at = 0;
  while (at < buf.length) {
    const len = Number(dv.getBigUint64(at, true));
    assert.equal(dv.getUint32(at + 8, true), maskedCrc32c(buf.subarray(at, at + 8)), 'length CRC');
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(dv.getUint32(at + 12 + len, true), maskedCrc32c(data), 'data CRC');
    at += 12 + len + 4;
    const ev: Event = { wallTime: NaN, step: 0, scalars: new Map() };
    for (const f of fields(data)) {
      if (f.no === 1) ev.wallTime = f.value as number;
      else if (f.no === 2) ev.step = Number(f.value as bigint);
      else if (f.no === 3) ev.fileVersion = new TextDecoder().decode(f.value as Uint8Array);
      else if (f.no === 5)
        for (const v of fields(f.value as Uint8Array)) {
          const vf = fields(v.value as Uint8Array);
          const tag = new TextDecoder().decode(vf.find((x) => x.no === 1)!.value as Uint8Array);
          ev.scalars.set(tag, vf.find((x) => x.no === 2 && x.wire === 5)!.value as number);
        }
    }
    events.push(ev);
  }
  assert.equal(at, buf.length, 'no trailing bytes');
  return events;
}

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('rlgrid export', function () {
  this.timeout(60_000);
  let runs: string;
  before(() => {
    runs = tmpDir();
    methodsFixture(runs);
  });
  after(() => fs.rmSync(runs, { recursive: true, force: true }));

  it('CRC-32C: the standard check value, and the TFRecord mask', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    const c = 0xe3069283;
    assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
  });

  it('--format tensorboard: one event file per job with data, read back step by step', () => {
    const out = path.join(runs, 'tb');
    const r = cli(['export', 'methods', '--format', 'tensorboard', '--out', out, '--runs-dir', runs]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^9 event files under .*\nview: tensorboard --logdir /);
    const dirs = fs.readdirSync(out).sort();
    assert.equal(dirs.length, 9, 'the 8 done jobs and the failed one; the 3 that never ran have no data');
    const grpo = dirs.find((d) => d.startsWith('method=GRPO,seed=2-'))!;
    const files = fs.readdirSync(path.join(out, grpo));
    assert.equal(files.length, 1);
    assert.match(files[0], /^events\.out\.tfevents\.\d+\.rlgrid$/);
    const events = readEvents(path.join(out, grpo, files[0]));
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    const train = events.slice(1);
    assert.deepEqual(train.map((e) => e.step), Array.from({ length: 31 }, (_, i) => i)); // step 0 holds the base evaluation
    // GRPO is method 0 of the fixture; seed 2: actor/entropy at step 30, as float32
    const at30 = train.find((e) => e.step === 30)!;
    assert.equal(at30.scalars.get('actor/entropy'), Math.fround(entropyTenK(0, 2, 30) / 10000));
    assert.equal(at30.scalars.get('eval/probe_entropy'), Math.fround(probeTenK(0, 2, 30) / 10000));
    assert.equal(train.find((e) => e.step === 10)!.scalars.get('eval/benchmarks/id-val/avg_at_k'), Math.fround(0.29)); // (250 + 4 * 10) / 1000
    // wall times rise with the logged step times
    for (let i = 2; i < train.length; i++) assert.ok(train[i].wallTime > train[i - 1].wallTime);
    // the failed job's file stops where it did
    const failed = dirs.find((d) => d.startsWith('method=Clip-Free,seed=3-'))!;
    const fe = readEvents(path.join(out, failed, fs.readdirSync(path.join(out, failed))[0]));
    assert.equal(Math.max(...fe.map((e) => e.step)), 11);
    // the same runs give the same bytes
    const again = cli(['export', 'methods', '--format', 'tensorboard', '--out', path.join(runs, 'tb2'), '--runs-dir', runs]);
    assert.equal(again.code, 0);
    assert.deepEqual(fs.readFileSync(path.join(runs, 'tb2', grpo, files[0])), fs.readFileSync(path.join(out, grpo, files[0])));
  });

  it('long CSV: one row per job, step and metric, every number exactly as in the job files; JSON Lines the same rows', () => {
    const r = cli(['export', 'methods', '--runs-dir', runs]);
    assert.equal(r.code, 0, r.err);
    const rows = parse(r.out, { columns: true }) as Record<string, string>[];
    assert.deepEqual(Object.keys(rows[0]), ['job', 'method', 'seed', 'status', 'source', 'step', 'metric', 'value']);
    const { plan, records } = loadGridRecords({ kind: 'name', name: 'methods' }, runs);
    const want = exportRecords(plan, records).flatMap(jobRows);
    assert.equal(rows.length, want.length);
    rows.forEach((row, i) => {
      const w = want[i];
      assert.deepEqual(
        [row.job, row.method, row.seed, row.status, row.source, row.step, row.metric, Number(row.value)],
        [w.job, w.labels.method, w.labels.seed, w.status, w.source, w.step === null ? '' : String(w.step), w.metric, w.value],
      );
      assert.ok(Object.is(Number(row.value), w.value), `${row.metric}: ${row.value} reads back as ${w.value}`);
    });
    // pandas pivots on (job, source, step, metric): each key once
    const keys = rows.map((x) => `${x.job}|${x.source}|${x.step}|${x.metric}`);
    assert.equal(new Set(keys).size, keys.length);
    // a number the wide table rounds keeps every digit here
    assert.ok(rows.some((x) => x.metric === 'actor/entropy_ema' && x.value.replace(/^-?\d+\./, '').length > 4));
    const file = path.join(runs, 'long.jsonl');
    const j = cli(['export', 'methods', '--format', 'jsonl', '--out', file, '--json', '--runs-dir', runs]);
    assert.equal(j.code, 0, j.err);
    const meta = JSON.parse(j.out);
    assert.deepEqual([meta.format, meta.files[0].kind, meta.files[0].rows, meta.jobs.length], ['rlgrid.export', 'jsonl', want.length, 9]);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, JSON.parse(JSON.stringify(want)));
  });

  it('--only and a grid without data', () => {
    const r = cli(['export', 'methods', '--only', 'method=Clip-*', '--runs-dir', runs]);
    assert.equal(r.code, 0, r.err);
    const methods = new Set((parse(r.out, { columns: true }) as { method: string }[]).map((x) => x.method));
    assert.deepEqual([...methods], ['Clip-Higher', 'Clip-Free']);
    const none = cli(['export', 'methods', '--only', 'method=Entropy-Adv', '--runs-dir', runs]);
    assert.equal(none.code, 2);
    assert.match(none.err, /^error: grid methods has no job with data/);
  });

  it('CSV quoting (csv-stringify) and parsing (csv-parse) round-trip awkward fields', () => {
    const cells = ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded ', 'A>=0 only', ''];
    assert.deepEqual(cells.map(csvQuote), ['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '" padded "', 'A>=0 only', '']);
    assert.deepEqual(parseCsv(cells.map(csvQuote).join(',') + '\n'), [cells]);
  });
});
