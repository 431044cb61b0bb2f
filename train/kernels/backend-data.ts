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

/**
 * A float32 array for a kernel to overwrite completely, without the zero-fill of
 * `new Float32Array(n)` (megabytes per activation: a measurable share of a small kernel).
 * Only for outputs every element of which the kernel writes.
 */
export function uninitialized(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}
