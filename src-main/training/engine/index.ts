/**
 * The TensorFlow.js compute engine: picks the best backend that loads on this machine, makes the wasm backend
 * able to train (./wasm-kernels), and says what it chose and why.
 *
 * Order, best first: tfjs-node-gpu (CUDA) → webgpu (Dawn: Vulkan/Metal/D3D12) → tfjs-node (native CPU) →
 * wasm (XNNPACK, with this project's training kernels) → cpu (plain JS, last, with a warning).
 * `initEngine({ backend })` tries only that backend and throws AppError('unsupported') naming why it failed.
 *
 * Nothing heavy is imported at module load: the tfjs packages are required inside `initEngine`, so a CLI
 * command that never trains stays fast. After `initEngine` resolves, the ordinary `@tensorflow/tfjs` API
 * (`tf.*`, layers, optimizers, `tf.variableGrads`) runs on the chosen backend.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../core/errors';

export const BACKEND_ORDER = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface EngineOptions {
  /** Use only this backend (the CLI's `--backend`). */
  backend?: BackendName;
  /** wasm only: XNNPACK threads (default: every core; 1 = the single-threaded build). */
  threads?: number;
}

export interface EngineInfo {
  /** Our name of the backend in use (one of BACKEND_ORDER). */
  backend: BackendName;
  /** What runs the maths, in words (e.g. "wasm-simd (XNNPACK), 2 threads"). */
  device: string;
  threads: number;
  warnings: string[];
  /** Every backend tried, in order, with the reason it was skipped. */
  tried: { backend: string; error?: string }[];
}

type Tf = typeof import('@tensorflow/tfjs');

const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

let current: EngineInfo | undefined;
let pending: Promise<EngineInfo> | undefined;
let pendingKey = '';

/** The one wording of an unknown backend (the zod enum in api/refs.ts and the engine say the same). */
export function unknownBackendMessage(name: unknown): string {
  return `unknown backend '${String(name)}' (one of ${BACKEND_ORDER.join(', ')})`;
}

export function isBackendName(v: string): v is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(v);
}

/** The engine chosen by the last successful `initEngine`, if any. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}

/** The tfjs namespace the engine configured (the same module instance `import '@tensorflow/tfjs'` gives). */
export function loadTf(): Tf {
  const tf = req('@tensorflow/tfjs') as Tf;
  // Production mode: no debug checks, and no "install tfjs-node" banner from the cpu backend on stderr
  // (the engine reports its backend choice itself).
  if (!tf.env().getBool('PROD')) tf.env().set('PROD', true);
  return tf;
}

function message(err: unknown): string {
  const m = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  return m.split('\n')[0]!.slice(0, 400);
}

/** Default wasm thread count: the cores this process may use. */
export function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

async function tryNative(tf: Tf, pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string> {
  let mod: unknown;
  try {
    mod = req(pkg);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && message(err).includes(pkg)) {
      throw new Error(`${pkg} is not installed (optional dependency; its install downloads libtensorflow)`);
    }
    throw new Error(`${pkg} is installed but does not load: ${message(err)}`);
  }
  if (!mod) throw new Error(`${pkg} loaded nothing`);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its 'tensorflow' backend did not initialise`);
  await tf.ready();
  if (pkg === '@tensorflow/tfjs-node-gpu') {
    const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    if (b.isUsingGpuDevice === false) throw new Error(`${pkg} loaded but libtensorflow found no CUDA GPU (needs CUDA 11.2 + cuDNN 8.1)`);
    return 'GPU (CUDA, libtensorflow)';
  }
  return 'CPU (libtensorflow)';
}

/** Linux only: is a Vulkan loader installed? (Dawn needs it, and prints a warning when it is missing.) */
function hasVulkanLoader(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

async function tryWebgpu(tf: Tf): Promise<string> {
  if (process.platform === 'linux' && !hasVulkanLoader()) {
    throw new Error('WebGPU found no adapter: no Vulkan loader (libvulkan.so.1) is installed, so Dawn cannot see a GPU');
  }
  let webgpu: { create?: (opts: string[]) => unknown; globals?: Record<string, unknown> };
  try {
    // An ES module (Dawn's Node binding): import, not require.
    const name = 'webgpu';
    webgpu = (await import(/* @vite-ignore */ name)) as typeof webgpu;
  } catch (err) {
    throw new Error(`the 'webgpu' package (Dawn) is not installed or does not load: ${message(err)}`);
  }
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    if (typeof webgpu.create !== 'function') throw new Error("the 'webgpu' package has no create()");
    if (webgpu.globals) Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const gpu = g.navigator!.gpu as { requestAdapter(): Promise<{ info?: { description?: string; vendor?: string } } | null> };
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU found no adapter (no Vulkan/Metal/D3D12 GPU visible to Dawn)');
  try {
    req('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    throw new Error(`@tensorflow/tfjs-backend-webgpu does not load: ${message(err)}`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise');
  await tf.ready();
  const d = adapter.info?.description || adapter.info?.vendor || 'adapter';
  return `GPU (WebGPU/Dawn: ${d})`;
}

async function tryWasm(tf: Tf, threads: number, warnings: string[]): Promise<{ device: string; threads: number }> {
  const { loadWasmBackend } = await import('./wasm-threads');
  const { threads: actual, note } = await loadWasmBackend(tf, threads);
  if (note) warnings.push(note);
  const { registerWasmTrainingKernels } = await import('./wasm-kernels');
  registerWasmTrainingKernels();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { device: `${simd ? 'wasm-simd' : 'wasm'} (XNNPACK), ${actual} thread${actual === 1 ? '' : 's'}`, threads: actual };
}

async function init(opts: EngineOptions): Promise<EngineInfo> {
  if (opts.backend !== undefined && !isBackendName(opts.backend)) {
    throw new AppError('input', unknownBackendMessage(opts.backend));
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64)) {
    throw new AppError('input', `threads must be an integer from 1 to 64 (got ${String(opts.threads)})`);
  }
  const tf = loadTf();
  const order = opts.backend ? [opts.backend] : BACKEND_ORDER;
  const tried: EngineInfo['tried'] = [];
  const warnings: string[] = [];
  for (const name of order) {
    try {
      let device: string;
      let threads = 1;
      if (name === 'tfjs-node-gpu') device = await tryNative(tf, '@tensorflow/tfjs-node-gpu');
      else if (name === 'tfjs-node') device = await tryNative(tf, '@tensorflow/tfjs-node');
      else if (name === 'webgpu') device = await tryWebgpu(tf);
      else if (name === 'wasm') ({ device, threads } = await tryWasm(tf, opts.threads ?? defaultThreads(), warnings));
      else {
        if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
        device = 'CPU (plain JavaScript)';
        warnings.push('training on the plain JS cpu backend: about a hundred times slower than wasm on a CNN');
      }
      tried.push({ backend: name });
      return { backend: name, device, threads, warnings, tried };
    } catch (err) {
      tried.push({ backend: name, error: message(err) });
    }
  }
  const why = tried.map((t) => `${t.backend}: ${t.error}`).join('; ');
  throw new AppError('unsupported', opts.backend ? `backend '${opts.backend}' cannot be used here: ${why}` : `no tfjs backend could be loaded: ${why}`);
}

/**
 * Chooses and initialises the backend. Concurrent and repeated calls with the same options share one result;
 * a call with different options re-selects.
 */
export function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const key = `${opts.backend ?? ''}|${opts.threads ?? ''}`;
  if (pending && pendingKey === key) return pending;
  pendingKey = key;
  pending = init(opts).then(
    (info) => {
      current = info;
      return info;
    },
    (err: unknown) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}

export { profileStep, formatProfile, type KernelProfile, type StepProfile } from './profile';
