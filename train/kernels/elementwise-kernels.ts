// Element-wise and reduction kernels on the 'wsss-cpu' backend — the glue of a training step
// (bias and batch-norm broadcasts, their gradients, batch statistics, global pooling):
//  - Add, Sub, Multiply, RealDiv, Maximum, Minimum, SquaredDifference on float32 with
//    broadcasting: the stock kernels locate every broadcast element through index
//    arithmetic, tens of nanoseconds each;
//  - Sum, Mean, Max over one contiguous block of axes: the stock kernels first transpose the
//    reduced axes to the end;
//  - unary maps (Relu, Step, Exp, ...) on float32: the stock ones call a closure per element;
//  - FusedBatchNorm as one per-channel affine pass;
//  - WsssActivationGrad: dy · act'(y) in one pass (the stock route is Step, then Multiply).
// Other dtypes and layouts go to the stock kernels.

import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { activationCode } from './activation.ts';
import { f32, output, sizeOf, uninitialized } from './backend-data.ts';
import { BinaryOp, ReduceOp, UnaryOp, broadcastPlan, reducePlan } from './elementwise.ts';
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

const UNARY: [string, UnaryOp][] = [
  ['Relu', UnaryOp.Relu],
  ['Relu6', UnaryOp.Relu6],
  ['LeakyRelu', UnaryOp.LeakyRelu],
  ['Step', UnaryOp.Step],
  ['Neg', UnaryOp.Neg],
  ['Square', UnaryOp.Square],
  ['Abs', UnaryOp.Abs],
  ['Sqrt', UnaryOp.Sqrt],
  ['Rsqrt', UnaryOp.Rsqrt],
  ['Exp', UnaryOp.Exp],
  ['Log', UnaryOp.Log],
  ['Sigmoid', UnaryOp.Sigmoid],
  ['Tanh', UnaryOp.Tanh],
  ['Elu', UnaryOp.Elu],
];

export function elementwiseKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const binary = (name: string, op: BinaryOp): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(name)(args);
    const plan = broadcastPlan(a.shape, b.shape);
    if (!plan) return stock(name)(args);
    const out = uninitialized(sizeOf(plan.outShape));
    if (out.length > 0) engine.binary(op, plan.shape, plan.strideA, plan.strideB, f32(backend, a), f32(backend, b), out);
    return output(backend, plan.outShape, out);
  };

  const unary = (name: string, op: UnaryOp): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32') return stock(name)(args);
    const alpha = ((args.attrs ?? {}) as { alpha?: number }).alpha ?? 0;
    const out = uninitialized(sizeOf(x.shape));
    if (out.length > 0) engine.unary(op, alpha, f32(backend, x), out);
    return output(backend, x.shape, out);
  };

  const reduction = (name: string, op: ReduceOp, mean: boolean): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32' || sizeOf(x.shape) === 0) return stock(name)(args);
    const plan = reducePlan(x.shape, name === 'Max' ? attrs.reductionIndices : attrs.axis, !!attrs.keepDims);
    if (!plan || (op === ReduceOp.Max && plan.mid === 0)) return stock(name)(args);
    const out = uninitialized(plan.outer * plan.inner);
    engine.reduce(op, plan.outer, plan.mid, plan.inner, f32(backend, x), out);
    if (mean) for (let i = 0; i < out.length; i++) out[i] /= plan.mid;
    return output(backend, plan.outShape, out);
  };

  // (x − mean)·scale/√(variance + ε) + offset as one per-channel affine map x·a + b
  const batchNorm: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const { varianceEpsilon } = (args.attrs ?? {}) as { varianceEpsilon: number };
    const x = inputs.x as TensorInfo;
    const C = x.shape[x.shape.length - 1] ?? 1;
    const parts = ['mean', 'variance', 'scale', 'offset'].map((k) => inputs[k] as TensorInfo | undefined);
    const perChannel = (t: TensorInfo | undefined) => !t || sizeOf(t.shape) === C || sizeOf(t.shape) === 1;
    if (x.dtype !== 'float32' || x.shape.length === 0 || !parts.every(perChannel)) return stock('FusedBatchNorm')(args);
    const [mean, variance, scale, offset] = parts.map((t) => (t ? f32(backend, t) : null));
    const at = (v: Float32Array | null, c: number, dflt: number) => (v ? v[v.length === 1 ? 0 : c] : dflt);
    const a = new Float32Array(C);
    const b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const k = at(scale, c, 1) / Math.sqrt(at(variance, c, 1) + varianceEpsilon);
      a[c] = k;
      b[c] = at(offset, c, 0) - at(mean, c, 0) * k;
    }
    const out = uninitialized(sizeOf(x.shape));
    if (out.length > 0) engine.channelAffine(out.length / C, C, f32(backend, x), a, b, out);
    return output(backend, x.shape, out);
  };

  const activationGrad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const { activation, leakyreluAlpha } = (args.attrs ?? {}) as { activation: string; leakyreluAlpha?: number };
    const dy = inputs.dy as TensorInfo;
    const y = inputs.y as TensorInfo;
    const act = activationCode(activation);
    if (act === undefined) throw new Error(`${WSSS_ACTIVATION_GRAD}: no gradient for activation '${activation}'`);
    if (sizeOf(dy.shape) !== sizeOf(y.shape)) throw new Error(`${WSSS_ACTIVATION_GRAD}: dy [${dy.shape}] and y [${y.shape}] differ`);
    const dx = uninitialized(sizeOf(dy.shape));
    engine.activationGrad(f32(backend, dy), f32(backend, y), act, leakyreluAlpha ?? 0.2, dx);
    return output(backend, dy.shape, dx);
  };

  return [
    ...BINARY.map(([name, op]) => ({ kernelName: name, backendName: '', kernelFunc: binary(name, op) })),
    ...UNARY.map(([name, op]) => ({ kernelName: name, backendName: '', kernelFunc: unary(name, op) })),
    { kernelName: 'Sum', backendName: '', kernelFunc: reduction('Sum', ReduceOp.Sum, false) },
    { kernelName: 'Mean', backendName: '', kernelFunc: reduction('Mean', ReduceOp.Sum, true) },
    { kernelName: 'Max', backendName: '', kernelFunc: reduction('Max', ReduceOp.Max, false) },
    { kernelName: 'FusedBatchNorm', backendName: '', kernelFunc: batchNorm },
    { kernelName: WSSS_ACTIVATION_GRAD, backendName: '', kernelFunc: activationGrad },
  ];
}
