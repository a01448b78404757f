// A fair PyTorch reference needs OpenBLAS's kernel for this CPU. Debian's
// OpenBLAS 0.3.21 does not recognise recent CPUs (e.g. Sapphire Rapids in a VM)
// and falls back to a generic SSE kernel ("Prescott"), 2.5-3x slower than the
// CPU's own: a ratio against that flatters rlgrid and means nothing. Pure
// functions of /proc/cpuinfo's text, so they are testable on any machine.

/** The CPU's feature flags (first "flags" line of /proc/cpuinfo); empty when unknown. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.split(':', 2)[1].trim().split(/\s+/) : []);
}

/**
 * The OPENBLAS_CORETYPE to force for this CPU, or null to let OpenBLAS choose
 * (no AVX2: its generic kernels are then the right ones). Same mapping as
 * ../shared/bench/torch_ref.py, which applies it itself when run directly.
 */
export function bestCoretype(cpuinfo: string): string | null {
  const f = cpuFlags(cpuinfo);
  if (f.has('avx512f') && f.has('avx512bw')) return 'SkylakeX';
  if (f.has('avx2')) return cpuinfo.includes('AuthenticAMD') ? 'Zen' : 'Haswell';
  return null;
}

/** OpenBLAS kernels that use AVX2 (or AVX-512); any other is a pre-AVX2 or generic one. */
const AVX2_KERNELS = new Set(['haswell', 'zen', 'skylakex', 'cooperlake', 'sapphirerapids', 'excavator']);

/**
 * Why a comparison against this kernel would be unfair, or null when it is
 * fair: the CPU has AVX2 but OpenBLAS runs a kernel without it (or did not
 * say which it runs).
 */
export function unfairKernel(kernel: string | null | undefined, cpuinfo: string): string | null {
  if (!cpuFlags(cpuinfo).has('avx2')) return null;
  if (!kernel) return 'OpenBLAS did not report its kernel (is torch using OpenBLAS? apt-get install libopenblas0)';
  if (!AVX2_KERNELS.has(kernel.toLowerCase()))
    return `OpenBLAS runs its generic '${kernel}' kernel on a CPU with AVX2 (set OPENBLAS_CORETYPE=${bestCoretype(cpuinfo)})`;
  return null;
}

/**
 * The OPENBLAS_CORETYPE the torch reference runs with, and how it was chosen.
 * The CPU's best kernel, whatever OPENBLAS_CORETYPE the environment carries
 * (a machine image may preset a slower one, e.g. Haswell on an AVX-512 CPU:
 * 156 against 112 ms a training step here), unless the bench's own variable
 * RLGRID_BENCH_OPENBLAS_CORETYPE forces one.
 */
export function referenceCoretype(cpuinfo: string, env: Record<string, string | undefined>): { coretype: string | undefined; how: string } {
  const forced = env.RLGRID_BENCH_OPENBLAS_CORETYPE;
  if (forced) return { coretype: forced, how: `OPENBLAS_CORETYPE=${forced} forced by RLGRID_BENCH_OPENBLAS_CORETYPE` };
  const best = bestCoretype(cpuinfo);
  const inherited = env.OPENBLAS_CORETYPE;
  if (!best) return { coretype: inherited, how: inherited ? `OPENBLAS_CORETYPE=${inherited} from the environment` : 'chosen by OpenBLAS' };
  const replaced = inherited && inherited !== best ? `; the environment's OPENBLAS_CORETYPE=${inherited} replaced` : '';
  return { coretype: best, how: `OPENBLAS_CORETYPE=${best}, this CPU's best, set by the bench${replaced}` };
}
