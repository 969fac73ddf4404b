/**
 * Loads `@tensorflow/tfjs-backend-wasm`, optionally as its threaded-SIMD build under plain Node.
 *
 * As shipped, the wasm backend is single-threaded in Node: its `WASM_HAS_MULTITHREAD_SUPPORT` flag answers
 * false for Node, and if forced on, Emscripten starts each pthread worker from a `blob:` URL (the worker
 * script is inlined as a string and wrapped in a Blob), which Node's `worker_threads.Worker` refuses; the
 * main script is also posted to the workers as a Blob, which their `importScripts` shim cannot read.
 *
 * The way around it, without patching node_modules:
 * - a `Worker` global whose constructor, given a `blob:` URL, starts a Node worker from an eval'd bootstrap
 *   instead: it evaluates the same worker script (the string the package exports from
 *   wasm-out/tfjs-backend-wasm-threaded-simd.worker.js) and makes `importScripts(blob:…)` load the threaded
 *   module factory from its file (wasm-out/tfjs-backend-wasm-threaded-simd.js);
 * - the backend sizes its XNNPACK pool as `min(requested, logical cores / 2)` (it assumes two hyperthreads
 *   per core); while the module initialises, `os.cpus()` reports the cores twice so the pool can use all of
 *   them.
 * - the pthread workers never hold the process open (a CLI command that trained still exits by itself).
 * Results do not depend on the thread count: XNNPACK splits work by output tiles, and each output element is
 * summed by one thread in a fixed order.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';

type Tf = typeof import('@tensorflow/tfjs');

interface WasmPackage {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

let loaded: { threads: number } | undefined;

/**
 * Runs inside each pthread worker (a string, so no bundler can rewrite it): evaluates Emscripten's worker
 * script, then serves the main-script Blob from its file. `W` and `M` are the two file paths.
 */
const PTHREAD_BOOTSTRAP = [
  'const contents = require(W).wasmWorkerContents;',
  // The package escapes newlines the same way before wrapping this string in a Blob.
  "(0, eval)(contents.replace(/\\n/g, '\\\\n'));",
  'const original = globalThis.importScripts;',
  'globalThis.importScripts = (f) => {',
  "  if (String(f).startsWith('blob:')) { globalThis.WasmBackendModuleThreadedSimd = require(M); return; }",
  '  original(f);',
  '};',
].join('\n');

function installWorkerShim(wasmDir: string): () => void {
  const workerModule = path.join(wasmDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js');
  const mainScript = path.join(wasmDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const boot = `const W = ${JSON.stringify(workerModule)}; const M = ${JSON.stringify(mainScript)};\n${PTHREAD_BOOTSTRAP}`;
  class BlobFreeWorker extends NodeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      if (typeof url === 'string' && url.startsWith('blob:')) super(boot, { ...options, eval: true });
      else super(url, options);
    }

    // Emscripten re-refs a worker whenever it runs a pthread; XNNPACK's pool threads run for the life of the
    // process, so that would keep every process that trained from ever exiting on its own. (Workers are
    // ref'd while they load, and Emscripten unrefs them once loaded.)
    override ref(): void {}
  }
  const g = globalThis as Record<string, unknown>;
  const before = Object.getOwnPropertyDescriptor(g, 'Worker');
  // Emscripten assigns `global.Worker = worker_threads.Worker` when the module starts; keep ours in place.
  Object.defineProperty(g, 'Worker', {
    configurable: true,
    get: () => BlobFreeWorker,
    set: () => undefined,
  });
  return () => {
    if (before) Object.defineProperty(g, 'Worker', before);
    else delete g.Worker;
  };
}

/**
 * Registers and initialises the 'wasm' backend with `threads` XNNPACK threads (1 = the single-threaded SIMD
 * build). Returns the thread count in use, and a note when it differs from the request.
 */
export async function loadWasmBackend(tf: Tf, threads: number): Promise<{ threads: number; note?: string }> {
  const wasm = req('@tensorflow/tfjs-backend-wasm') as WasmPackage;
  if (loaded && tf.findBackend('wasm')) {
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    const note = loaded.threads !== threads ? `wasm already initialised with ${loaded.threads} thread(s) in this process` : undefined;
    return { threads: loaded.threads, note };
  }
  const wasmDir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  let restoreWorker: (() => void) | undefined;
  const realCpus = os.cpus;
  if (threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    restoreWorker = installWorkerShim(wasmDir);
    os.cpus = () => {
      const c = realCpus.call(os);
      return [...c, ...c];
    };
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  wasm.setThreadsCount(threads);
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } finally {
    os.cpus = realCpus;
  }
  if (!ok) {
    restoreWorker?.();
    throw new Error('the wasm backend did not initialise');
  }
  await tf.ready();
  const actual = Math.max(1, wasm.getThreadsCount());
  loaded = { threads: actual };
  return { threads: actual, note: actual !== threads ? `wasm runs ${actual} thread(s) (asked for ${threads})` : undefined };
}
