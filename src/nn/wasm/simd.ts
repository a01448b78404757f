// Feature probes: does this V8 compile WebAssembly SIMD128, and relaxed SIMD?
// Each validates a tiny hand-assembled module.

/** Whether this V8 compiles relaxed SIMD (Node 20: only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  // (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b];
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

/** SIMD128 support, by validating a tiny module that uses an i8x16.splat. */
export function wasmSimdSupported(): boolean {
  try {
    return WebAssembly.validate(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
    );
  } catch {
    return false;
  }
}
