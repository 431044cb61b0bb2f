// Shared set-up of the kernel parity tests: tfjs with the stock 'cpu' backend, 'wsss-cpu' on
// the native kernels (when they are built) and 'wsss-cpu-js' on the portable JavaScript ones,
// plus a seeded random source and the relative error the acceptance criterion uses.

import * as tf from '@tensorflow/tfjs-core';
import { selectTfjsBackend } from '../../train/backend-select.ts';
import { loadNativeEngine } from '../../train/kernels/engine.ts';
import { FAST_CPU_BACKEND, registerFastCpuBackend } from '../../train/kernels/fast-backend.ts';
import { jsEngine } from '../../train/kernels/js-engine.ts';

export const JS_BACKEND = `${FAST_CPU_BACKEND}-js`;

/** Backends holding our kernels: the JavaScript engine always, the native one when it loads. */
export async function fastBackends(): Promise<string[]> {
  await selectTfjsBackend(FAST_CPU_BACKEND);
  registerFastCpuBackend(JS_BACKEND, jsEngine);
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false; // no "install tfjs-node" banner in test output
  return loadNativeEngine().engine ? [FAST_CPU_BACKEND, JS_BACKEND] : [JS_BACKEND];
}

/** max |a − b| / max |b| (b is the reference). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Deterministic uniform(-1, 1) values. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Runs fn on the given backend and returns its outputs' values (tensors disposed). */
export async function on(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync().slice() as Float32Array);
  tf.dispose(list);
  return values;
}

export function tensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((p, d) => p * d, 1), seed), shape);
}
