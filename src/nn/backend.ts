// The tensor backend: which tfjs backend runs the model, chosen once per
// process by initBackend(), and the line every job logs about it.
//
// Backends: `auto | wasm | cpu | tensorflow`. `auto` is `tensorflow` when
// @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node can be imported (both
// optional; their installer downloads libtensorflow), else `wasm`. On `wasm`
// with SIMD, rlgrid's own kernels (wasm/runtime.ts) make the model fast.
//
// @tensorflow/tfjs-backend-wasm is imported only when the wasm backend is
// asked for: importing it registers wasm above cpu, which would change the
// default backend of every tfjs user in the process.
import * as tf from '@tensorflow/tfjs';
import { kernels } from './wasm/runtime.ts';
import { wasmSimdSupported } from './wasm/simd.ts';

export type BackendName = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

export interface BackendInfo {
  /** the tfjs backend actually in use */
  backend: 'wasm' | 'cpu' | 'tensorflow';
  /** WebAssembly SIMD available (wasm backend only; false elsewhere) */
  simd: boolean;
  /**
   * threads the backend really uses: 1 for cpu and for wasm in Node (its
   * threaded build needs Web Workers); null for tensorflow, whose own thread
   * pools rlgrid neither sets nor can read
   */
  threads: number | null;
  tfjsVersion: string;
  /** rlgrid's SIMD kernels are active (wasm + SIMD) */
  fastKernels: boolean;
  /** which optional tfjs-node package provided `tensorflow`, if any */
  nodePackage?: string;
}

const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Why each optional tfjs-node package was not used by the last initBackend (auto, tensorflow). */
let skipped: { package: string; reason: string }[] = [];

/** "not installed" for the usual case; anything else (a CUDA or ABI mismatch) is said as it is. */
function importFailure(e: unknown, name: string): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(name)) return 'not installed';
  return `failed to load: ${msg.split('\n')[0]}`;
}

async function tryImportNode(): Promise<string | null> {
  skipped = [];
  for (const name of NODE_PACKAGES) {
    try {
      await import(name);
      return name;
    } catch (e) {
      skipped.push({ package: name, reason: importFailure(e, name) });
    }
  }
  return null;
}

let current: BackendInfo | null = null;

/**
 * Select and initialise a tfjs backend (and tf.enableProdMode()). `threads`
 * is what the config asks for; the info reports what is true (see
 * BackendInfo.threads).
 */
export async function initBackend(name: BackendName, threads = 1): Promise<BackendInfo> {
  tf.enableProdMode();
  let nodePackage: string | null = null;
  let want: 'wasm' | 'cpu' | 'tensorflow';
  if (name === 'auto' || name === 'tensorflow') {
    nodePackage = await tryImportNode();
    if (nodePackage) want = 'tensorflow';
    else if (name === 'tensorflow')
      // never a silent fallback: the config asked for this backend
      throw new Error(
        `runtime.backend 'tensorflow' cannot load: ${skipped.map((s) => `${s.package} ${s.reason}`).join('; ')}. ` +
          `Install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) beside rlgrid, or set runtime.backend: wasm`,
      );
    else want = 'wasm';
  } else {
    want = name;
    skipped = [];
  }
  if (want === 'wasm') {
    // The wasm backend reads this before it initialises (Node cannot run the
    // threaded build: it reports 1 whatever is asked).
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!tf.findBackend('wasm')) wasm.setThreadsCount(Math.max(1, threads | 0));
  }
  const ok = await tf.setBackend(want);
  if (!ok || tf.getBackend() !== want) throw new Error(`could not initialise tfjs backend '${want}'`);
  await tf.ready();
  let simd = false;
  let realThreads: number | null = 1;
  if (want === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    realThreads = wasm.getThreadsCount();
  } else if (want === 'tensorflow') {
    realThreads = null;
  }
  const fast = want === 'wasm' && simd && wasmSimdSupported() && kernels() !== null;
  current = {
    backend: want,
    simd,
    threads: realThreads,
    tfjsVersion: tf.version.tfjs,
    fastKernels: fast,
    ...(nodePackage ? { nodePackage } : {}),
  };
  return current;
}

/** The backend chosen by the last initBackend (null before). */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** The line every job logs first: the backend in use, and why `auto` skipped the native ones. */
export function describeBackend(info: BackendInfo): string {
  const what =
    info.backend === 'tensorflow'
      ? `tensorflow (${info.nodePackage ?? 'tfjs-node'})`
      : `${info.backend}${info.backend === 'wasm' ? (info.fastKernels ? ' with rlgrid SIMD kernels' : info.simd ? ' (SIMD, no rlgrid kernels)' : ' (no SIMD)') : ''}`;
  const threads = info.threads === null ? '' : `, ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const skip = skipped.length ? `; skipped ${skipped.map((s) => `${s.package} (${s.reason})`).join(', ')}` : '';
  return `backend: ${what}${threads}, tfjs ${info.tfjsVersion}${skip}`;
}
