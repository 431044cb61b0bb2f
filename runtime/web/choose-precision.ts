// Which precision (and EP order) the web demo loads, from what the device offers and which
// precisions the server serves (issue 20):
//   WebGPU whose adapter reports 'shader-f16'  → fp16 on WebGPU (half the bytes, f16 math);
//   WebGPU without it                          → fp32 on WebGPU (fp16 would be emulated);
//   no WebGPU (wasm)                           → int8 when served (integer kernels), else fp32.
// Anything not served falls to the next best that is. Pure: the page passes what it detected.

import type { ModelPrecision } from '../model-metadata.ts';

export interface DeviceCaps {
  /** A WebGPU adapter could be obtained (and WebGPU is allowed by the page's ep parameter). */
  webgpu: boolean;
  /** The adapter has the 'shader-f16' feature. */
  shaderF16: boolean;
}

export interface PrecisionChoice {
  precision: ModelPrecision;
  providers: string[];
  /** Why, in words, for the page. */
  reason: string;
}

export function choosePrecision(served: readonly ModelPrecision[], caps: DeviceCaps): PrecisionChoice {
  if (served.length === 0) throw new Error('choosePrecision: no model served');
  const has = (p: ModelPrecision) => served.includes(p);
  if (caps.webgpu) {
    const gpu = ['webgpu', 'wasm'];
    if (caps.shaderF16 && has('fp16')) return { precision: 'fp16', providers: gpu, reason: 'WebGPU adapter reports shader-f16' };
    if (has('fp32')) return { precision: 'fp32', providers: gpu, reason: caps.shaderF16 ? 'WebGPU; no fp16 model served' : 'WebGPU without shader-f16' };
    if (has('fp16')) return { precision: 'fp16', providers: gpu, reason: 'WebGPU; only an fp16 model is served' };
    return { precision: 'int8', providers: ['wasm'], reason: 'only an int8 model is served; int8 runs on wasm' };
  }
  if (has('int8')) return { precision: 'int8', providers: ['wasm'], reason: 'no WebGPU; int8 model served for wasm' };
  if (has('fp32')) return { precision: 'fp32', providers: ['wasm'], reason: 'no WebGPU; no int8 model served' };
  return { precision: 'fp16', providers: ['wasm'], reason: 'no WebGPU; only an fp16 model is served' };
}
