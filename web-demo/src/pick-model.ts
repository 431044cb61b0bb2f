// Which model file the page loads: the server lists the precisions it serves (/api/model), the
// page detects WebGPU and its 'shader-f16' feature, and choosePrecision decides
// (runtime/web/choose-precision.ts). ?precision= forces one; ?ep= limits the EPs (without
// 'webgpu' in it, the device counts as wasm-only). Served by something other than `wsss serve`
// (no /api/model), the page loads model.onnx as before.

import type { ModelPrecision } from '../../runtime/model-metadata.ts';
import { choosePrecision, type DeviceCaps } from '../../runtime/web/choose-precision.ts';

export interface ModelPick {
  url: string;
  precision: ModelPrecision | null;
  providers: string[] | undefined;
  reason: string;
}

interface GpuLike {
  requestAdapter(): Promise<{ features: { has(f: string): boolean } } | null>;
}

async function deviceCaps(eps: string[] | undefined): Promise<DeviceCaps> {
  const gpu = (navigator as { gpu?: GpuLike }).gpu;
  if (!gpu || (eps && !eps.includes('webgpu'))) return { webgpu: false, shaderF16: false };
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? { webgpu: true, shaderF16: adapter.features.has('shader-f16') } : { webgpu: false, shaderF16: false };
  } catch {
    return { webgpu: false, shaderF16: false };
  }
}

export async function pickModel(eps: string[] | undefined, forced: string | null): Promise<ModelPick> {
  let served: Partial<Record<ModelPrecision, string>> | null = null;
  try {
    const res = await fetch('api/model');
    if (res.ok) served = ((await res.json()) as { models?: Partial<Record<ModelPrecision, string>> }).models ?? null;
  } catch {
    served = null;
  }
  if (!served) return { url: 'model.onnx', precision: null, providers: eps, reason: 'no precision list from the server' };
  const precisions = Object.keys(served) as ModelPrecision[];
  if (forced) {
    const url = served[forced as ModelPrecision];
    if (!url) throw new Error(`precision=${forced} is not served (served: ${precisions.join(', ')})`);
    return { url: url.replace(/^\//, ''), precision: forced as ModelPrecision, providers: eps, reason: 'chosen by the precision URL parameter' };
  }
  const choice = choosePrecision(precisions, await deviceCaps(eps));
  return { url: served[choice.precision]!.replace(/^\//, ''), precision: choice.precision, providers: eps ?? choice.providers, reason: choice.reason };
}
