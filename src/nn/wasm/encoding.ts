// WebAssembly binary encoding: value types, LEB128 integers and names. The
// minimal WebAssembly writer (fn.ts, writer.ts) builds on these; it writes
// just what rlgrid's kernels need.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

export function uleb(n: number, out: number[]): void {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

export function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

export function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  for (const x of b) out.push(x);
}
