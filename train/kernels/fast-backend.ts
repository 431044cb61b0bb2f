// The 'wsss-cpu' tfjs backend: a MathBackendCPU (tfjs's pure-JS backend) carrying every stock
// CPU kernel under its own name, with ours replacing the hot ones of a training step:
// convolutions and their gradients, matrix products, element-wise maps and reductions, batch
// norm, data movement (slice, pad, tile, transpose, concat), pooling and bilinear resizing. The stock 'cpu' backend is
// left untouched, so both can be compared in one process with tf.setBackend.
// Normally brought up by train/backend-select.ts (selectTfjsBackend), which also registers the
// gradients.

import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'; // its Node entry also registers 'cpu'
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { convKernels } from './conv-kernels.ts';
import { selectKernelEngine, type KernelEngine } from './engine.ts';
import { matmulKernels } from './matmul-kernels.ts';
import { elementwiseKernels } from './elementwise-kernels.ts';
import { layoutKernels } from './layout-kernels.ts';
import { spatialKernels } from './spatial-kernels.ts';

export const FAST_CPU_BACKEND = 'wsss-cpu';

const registered = new Map<string, KernelEngine>();

function stockKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`tfjs has no '${name}' kernel for the cpu backend`);
  return k.kernelFunc;
}

/** The kernels our backend replaces, for `wsss doctor` and the tests. */
export function fastKernelConfigs(engine: KernelEngine): KernelConfig[] {
  return [
    ...convKernels(engine, stockKernel),
    ...matmulKernels(engine, stockKernel),
    ...elementwiseKernels(engine, stockKernel),
    ...layoutKernels(engine, stockKernel),
    ...spatialKernels(engine, stockKernel),
  ];
}

/**
 * Registers the fast CPU backend (once per name) and returns the engine behind it. `name` and
 * `engine` exist so tests can register a second copy on the JavaScript engine; everything
 * else uses the defaults.
 */
export function registerFastCpuBackend(name = FAST_CPU_BACKEND, engine: KernelEngine = selectKernelEngine()): KernelEngine {
  const existing = registered.get(name);
  if (existing) return existing;
  const ok = tf.registerBackend(
    name,
    () => {
      const backend = new MathBackendCPU();
      // the stock backend's first write prints "use tfjs-node for speed"; this one is the fast path
      (backend as unknown as { firstUse: boolean }).firstUse = false;
      return backend;
    },
    2, // above 'cpu' (1), below tfjs-node's 'tensorflow' (3)
  );
  if (!ok) throw new Error(`tfjs refused to register a backend named '${name}'`);
  const ours = fastKernelConfigs(engine);
  const replaced = new Set(ours.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) if (!replaced.has(k.kernelName)) tf.registerKernel({ ...k, backendName: name });
  for (const k of ours) tf.registerKernel({ ...k, backendName: name });
  registered.set(name, engine);
  return engine;
}
