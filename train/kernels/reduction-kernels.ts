// Element-wise and reduction kernels of the backward pass on the 'wsss-cpu' backend:
//  - Sum over leading axes (bias gradients, batch statistics): the stock kernel transposes
//    the reduced axes to the end first, which costs more than the sum itself;
//  - WsssActivationGrad: dy · act'(y) in one pass (the stock route is Step, then Multiply).

import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { activationCode } from './activation.ts';
import { f32, output, sizeOf } from './backend-data.ts';
import type { KernelEngine } from './engine.ts';

export const WSSS_ACTIVATION_GRAD = 'WsssActivationGrad';

export function reductionKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const sum: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32') return stock('Sum')(args);
    const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    // leading axes only: [0, 1, ..., r-1]
    if (axes.length === 0 || axes.some((a, i) => a !== i)) return stock('Sum')(args);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const cols = sizeOf(kept);
    const out = new Float32Array(cols);
    engine.sumRows(f32(backend, x), rows, cols, out);
    return output(backend, keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : kept, out);
  };

  const activationGrad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const { activation, leakyreluAlpha } = (args.attrs ?? {}) as { activation: string; leakyreluAlpha?: number };
    const dy = inputs.dy as TensorInfo;
    const y = inputs.y as TensorInfo;
    const act = activationCode(activation);
    if (act === undefined) throw new Error(`${WSSS_ACTIVATION_GRAD}: no gradient for activation '${activation}'`);
    if (sizeOf(dy.shape) !== sizeOf(y.shape)) throw new Error(`${WSSS_ACTIVATION_GRAD}: dy [${dy.shape}] and y [${y.shape}] differ`);
    const dx = new Float32Array(sizeOf(dy.shape));
    engine.activationGrad(f32(backend, dy), f32(backend, y), act, leakyreluAlpha ?? 0.2, dx);
    return output(backend, dy.shape, dx);
  };

  return [
    { kernelName: 'Sum', backendName: '', kernelFunc: sum },
    { kernelName: WSSS_ACTIVATION_GRAD, backendName: '', kernelFunc: activationGrad },
  ];
}
