// The dense CRF's WebAssembly engine (runtime/crf/wasm/crf.wasm, built from the same C source as
// the native addon by build-wasm.mjs). Isomorphic: Node passes the file's bytes, the browser a
// fetched module. Single-threaded, 128-bit SIMD.

import type { CrfEngine } from './dense-crf.ts';

interface CrfExports {
  memory: WebAssembly.Memory;
  crf_alloc(bytes: number): number;
  crf_free(ptr: number): void;
  crf_run(width: number, height: number, rgb: number, kernels: number, nKernels: number, unary: number, labels: number, iterations: number, q: number): number;
  _initialize?: () => void;
}

const STATUS: Record<number, string> = { 1: 'invalid arguments', 2: 'out of memory (WebAssembly heap)', 3: 'lattice coordinates out of range (sxy or srgb too small)' };

/** A CRF engine from the wasm module (its bytes or a compiled WebAssembly.Module). */
export async function instantiateWasmCrf(wasm: BufferSource | WebAssembly.Module): Promise<CrfEngine> {
  const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
  // The standalone module's only import: a hook after memory.grow (nothing to do, views are re-made per call).
  const instance = await WebAssembly.instantiate(module, { env: { emscripten_notify_memory_growth: () => {} } });
  const x = instance.exports as unknown as CrfExports;
  x._initialize?.();
  return {
    name: 'wasm',
    defaultThreads: 1,
    isa: 'simd128',
    inference(width, height, rgb, kernels, unary, labels, iterations) {
      const n = width * height;
      const sizes = [rgb.length, kernels.length * 4, unary.length * 4, labels * n * 4];
      const ptrs = sizes.map((s) => x.crf_alloc(Math.max(s, 4)));
      try {
        if (ptrs.some((p) => p === 0)) throw new Error('dense CRF (wasm): out of memory (WebAssembly heap)');
        const [pRgb, pK, pU, pQ] = ptrs;
        new Uint8Array(x.memory.buffer, pRgb, rgb.length).set(rgb);
        new Float32Array(x.memory.buffer, pK, kernels.length).set(kernels);
        new Float32Array(x.memory.buffer, pU, unary.length).set(unary);
        const status = x.crf_run(width, height, pRgb, pK, kernels.length / 4, pU, labels, iterations, pQ);
        if (status !== 0) throw new Error(`dense CRF (wasm): ${STATUS[status] ?? `error ${status}`}`);
        return new Float32Array(x.memory.buffer, pQ, labels * n).slice(); // memory may grow later: copy out
      } finally {
        for (const p of ptrs) if (p) x.crf_free(p);
      }
    },
  };
}
