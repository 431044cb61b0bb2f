// tfjs BatchMatMul and _FusedMatMul on the 'wsss-cpu' backend. Batch dimensions may broadcast
// when one side has a single matrix (the common cases: shared weights, attention over a
// batch); other broadcast patterns, non-per-column biases and PReLU go to the stock kernels.

import { broadcast_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { Act, activationCode } from './activation.ts';
import { f32, output, sizeOf, uninitialized } from './backend-data.ts';
import { matmulParams } from './conv-params.ts';
import type { KernelEngine } from './engine.ts';

export function matmulKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const run = (name: string, fused: boolean): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const act = fused ? activationCode(attrs.activation) : Act.Linear;
    if (act === undefined || inputs.preluActivationWeights || a.dtype !== 'float32' || b.dtype !== 'float32') return stock(name)(args);
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) return stock(name)(args);
    const m = tA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = tA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = tB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb)
      throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${tA} and transposeB=${tB} must match.`);
    const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = sizeOf(outer);
    const batchA = sizeOf(a.shape.slice(0, -2));
    const batchB = sizeOf(b.shape.slice(0, -2));
    if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch)) return stock(name)(args);
    let bias: Float32Array | null = null;
    if (fused && inputs.bias) {
      const bt = inputs.bias as TensorInfo;
      const size = sizeOf(bt.shape);
      const perColumn = size === n && bt.shape.slice(0, -1).every((d) => d === 1);
      if (!(size === 1 || perColumn)) return stock(name)(args);
      bias = f32(backend, bt);
    }
    const c = uninitialized(batch * m * n);
    engine.matmul(matmulParams(batch, batchA, batchB, m, n, k, tA, tB, bias ? bias.length : 0), f32(backend, a), f32(backend, b), bias, act, attrs.leakyreluAlpha ?? 0.2, c);
    return output(backend, [...outer, m, n], c);
  };
  return [
    { kernelName: 'BatchMatMul', backendName: '', kernelFunc: run('BatchMatMul', false) },
    { kernelName: '_FusedMatMul', backendName: '', kernelFunc: run('_FusedMatMul', true) },
  ];
}
