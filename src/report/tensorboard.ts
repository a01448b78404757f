// TensorBoard event files, written by hand: no kept npm library writes them
// (docs/reports.md, "Export"). The format, as TensorBoard reads it:
//
//   file    a sequence of TFRecords, named events.out.tfevents.<seconds>.<host>
//   record  uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
//   mask    ((crc >>> 15) | (crc << 17)) + 0xa282ead8, modulo 2^32
//   data    an Event protobuf (tensorflow/core/util/event.proto):
//             double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
//           Summary { repeated Value value = 1; }
//           Value   { string tag = 1; float simple_value = 2; }
//
// The first event of a file carries file_version "brain.Event:2"; every other
// one a summary of scalars at one step. simple_value is a float32: TensorBoard
// shows scalars at that precision (the CSV export keeps every digit).

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum TFRecords use. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- protobuf: just the wire types these two messages use

class Proto {
  private readonly parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x = BigInt.asUintN(64, x); // int64 negatives: ten-byte two's complement
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.parts.push(b);
    } while (x > 0n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.key(field, 1).parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.key(field, 5).parts.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length).parts.push(...b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export const FILE_VERSION = 'brain.Event:2';

/** An Event with file_version (the first of every file). */
export function versionEvent(wallTime: number): Uint8Array {
  return new Proto().double(1, wallTime).string(3, FILE_VERSION).done();
}

/** An Event with a summary of scalars at one step. */
export function scalarsEvent(wallTime: number, step: number, scalars: readonly { tag: string; value: number }[]): Uint8Array {
  const summary = new Proto();
  for (const s of scalars) summary.bytes(1, new Proto().string(1, s.tag).float(2, s.value).done());
  return new Proto().double(1, wallTime).int64(2, step).bytes(5, summary.done()).done();
}

export interface ScalarStep {
  step: number;
  /** seconds since the epoch */
  wallTime: number;
  scalars: { tag: string; value: number }[];
}

/** A whole event file: the version event, then one event per step. */
export function eventFile(startTime: number, steps: readonly ScalarStep[]): Uint8Array {
  const records = [tfRecord(versionEvent(startTime)), ...steps.map((s) => tfRecord(scalarsEvent(s.wallTime, s.step, s.scalars)))];
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/** TensorBoard's file name; the host part is fixed so that the same runs give the same files. */
export const eventFileName = (startTime: number): string => `events.out.tfevents.${Math.floor(startTime)}.rlgrid`;
