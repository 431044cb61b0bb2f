// Element-wise and reduction kernels on the 'wsss-cpu' backend — the glue of a training step
// (bias and batch-norm broadcasts, their gradients, batch statistics, global pooling):
//  - Add, Sub, Multiply, RealDiv, Maximum, Minimum, SquaredDifference on float32 with
//    broadcasting: the stock kernels locate every broadcast element through index
//    arithmetic, tens of nanoseconds each;
//  - Sum, Mean, Max over one contiguous block of axes: the stock kernels first transpose the
//    reduced axes to the end;
//  - WsssActivationGrad: dy · act'(y) in one pass (the stock route is Step, then Multiply).
// Other dtypes and layouts go to the stock kernels.

import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { activationCode } from './activation.ts';
import { f32, output, sizeOf } from './backend-data.ts';
import { BinaryOp, ReduceOp, broadcastPlan, reducePlan } from './elementwise.ts';
import type { KernelEngine } from './engine.ts';

export const WSSS_ACTIVATION_GRAD = 'WsssActivationGrad';

const BINARY: [string, BinaryOp][] = [
  ['Add', BinaryOp.Add],
  ['Sub', BinaryOp.Sub],
  ['Multiply', BinaryOp.Mul],
  ['RealDiv', BinaryOp.Div],
  ['Maximum', BinaryOp.Maximum],
  ['Minimum', BinaryOp.Minimum],
  ['SquaredDifference', BinaryOp.SquaredDifference],
];

export function elementwiseKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const binary = (name: string, op: BinaryOp): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(name)(args);
    const plan = broadcastPlan(a.shape, b.shape);
    if (!plan) return stock(name)(args);
    const out = new Float32Array(sizeOf(plan.outShape));
    if (out.length > 0) engine.binary(op, plan.shape, plan.strideA, plan.strideB, f32(backend, a), f32(backend, b), out);
    return output(backend, plan.outShape, out);
  };

  const reduction = (name: string, op: ReduceOp, mean: boolean): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32' || sizeOf(x.shape) === 0) return stock(name)(args);
    const plan = reducePlan(x.shape, name === 'Max' ? attrs.reductionIndices : attrs.axis, !!attrs.keepDims);
    if (!plan || (op === ReduceOp.Max && plan.mid === 0)) return stock(name)(args);
    const out = new Float32Array(plan.outer * plan.inner);
    engine.reduce(op, plan.outer, plan.mid, plan.inner, f32(backend, x), out);
    if (mean) for (let i = 0; i < out.length; i++) out[i] /= plan.mid;
    return output(backend, plan.outShape, out);
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
    ...BINARY.map(([name, op]) => ({ kernelName: name, backendName: '', kernelFunc: binary(name, op) })),
    { kernelName: 'Sum', backendName: '', kernelFunc: reduction('Sum', ReduceOp.Sum, false) },
    { kernelName: 'Mean', backendName: '', kernelFunc: reduction('Mean', ReduceOp.Sum, true) },
    { kernelName: 'Max', backendName: '', kernelFunc: reduction('Max', ReduceOp.Max, false) },
    { kernelName: WSSS_ACTIVATION_GRAD, backendName: '', kernelFunc: activationGrad },
  ];
}
