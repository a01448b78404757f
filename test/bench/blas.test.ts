import assert from 'node:assert/strict';
import { bestCoretype, cpuFlags, referenceCoretype, unfairKernel } from '../../bench/blas.ts';

// /proc/cpuinfo excerpts: an AVX-512 Xeon (what OpenBLAS 0.3.21 misreads as Prescott), an AVX2 EPYC, an SSE4 CPU
const xeon = 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 ssse3 fma avx avx2 avx512f avx512bw avx512_bf16 amx_tile\n\nprocessor\t: 1\nflags\t\t: fpu\n';
const epyc = 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma\n';
const old = 'vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 ssse3 sse4_1 sse4_2\n';

describe('bench/blas: a fair OpenBLAS kernel for the torch reference', () => {
  it('reads the first flags line', () => {
    assert.ok(cpuFlags(xeon).has('avx512bw'));
    assert.ok(!cpuFlags(xeon).has('fpux'));
    assert.equal(cpuFlags('').size, 0);
  });
  it('picks SkylakeX on AVX-512, Haswell/Zen on AVX2, nothing without AVX2', () => {
    assert.equal(bestCoretype(xeon), 'SkylakeX');
    assert.equal(bestCoretype(epyc), 'Zen');
    assert.equal(bestCoretype(epyc.replace('AuthenticAMD', 'GenuineIntel')), 'Haswell');
    assert.equal(bestCoretype(old), null);
  });
  it('refuses a generic kernel (Prescott, Core2) or an unknown one on an AVX2 CPU', () => {
    assert.match(unfairKernel('Prescott', xeon)!, /generic 'Prescott'.*OPENBLAS_CORETYPE=SkylakeX/);
    assert.match(unfairKernel('Core2', epyc)!, /OPENBLAS_CORETYPE=Zen/);
    assert.match(unfairKernel(null, xeon)!, /did not report/);
    assert.equal(unfairKernel('SkylakeX', xeon), null);
    assert.equal(unfairKernel('Cooperlake', xeon), null);
    assert.equal(unfairKernel('Haswell', epyc), null);
  });
  it('accepts any kernel on a CPU without AVX2', () => {
    assert.equal(unfairKernel('Prescott', old), null);
    assert.equal(unfairKernel(null, old), null);
  });
  it("runs torch with the CPU's best kernel even when the environment presets another; the bench's own variable forces one", () => {
    assert.deepEqual(referenceCoretype(xeon, { OPENBLAS_CORETYPE: 'Haswell' }), {
      coretype: 'SkylakeX',
      how: "OPENBLAS_CORETYPE=SkylakeX, this CPU's best, set by the bench; the environment's OPENBLAS_CORETYPE=Haswell replaced",
    });
    assert.equal(referenceCoretype(xeon, {}).coretype, 'SkylakeX');
    assert.equal(referenceCoretype(epyc, { OPENBLAS_CORETYPE: 'Zen' }).how, "OPENBLAS_CORETYPE=Zen, this CPU's best, set by the bench");
    assert.deepEqual(referenceCoretype(xeon, { OPENBLAS_CORETYPE: 'Haswell', RLGRID_BENCH_OPENBLAS_CORETYPE: 'Prescott' }), {
      coretype: 'Prescott',
      how: 'OPENBLAS_CORETYPE=Prescott forced by RLGRID_BENCH_OPENBLAS_CORETYPE',
    });
    assert.deepEqual(referenceCoretype(old, { OPENBLAS_CORETYPE: 'Core2' }), { coretype: 'Core2', how: 'OPENBLAS_CORETYPE=Core2 from the environment' });
    assert.deepEqual(referenceCoretype(old, {}), { coretype: undefined, how: 'chosen by OpenBLAS' });
  });
});
