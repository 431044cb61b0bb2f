// Reading and writing tensor data on a MathBackendCPU (the stock 'cpu' backend and 'wsss-cpu'
// both are one): the kernels work on the backend's own typed arrays, without copies.

import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** tfjs types a kernel's backend as `{}`; ours are always a MathBackendCPU. */
export function cpuBackend(backend: unknown): MathBackendCPU {
  return backend as MathBackendCPU;
}

/** The tensor's values as float32 (a view of the backend's array when it already is one). */
export function f32(backend: unknown, t: TensorInfo): Float32Array {
  const values = cpuBackend(backend).data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  return Float32Array.from(values as ArrayLike<number>);
}

export function output(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return cpuBackend(backend).makeTensorInfo(shape, 'float32', values);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
