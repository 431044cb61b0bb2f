// Convolution and matrix-product ops that stay fused (bias + activation in the kernel) while
// training. tfjs's own tf.fused.* split into separate ops inside gradient scopes, or
// differentiate through a customGrad that refuses dilation; these run the fused kernel
// directly and are differentiated by the registered configs in gradients.ts, so they work
// with any dilation on every backend. Inputs are NHWC / HWIO, as tfjs's.

import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'sigmoid';

export interface FusedConvArgs {
  x: Tensor4D;
  filter: Tensor4D;
  bias?: Tensor;
  strides?: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: FusedActivation;
  leakyreluAlpha?: number;
}

function run<T extends Tensor>(kernel: string, inputs: Record<string, Tensor | undefined>, attrs: object): T {
  const present: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) if (v) present[k] = v;
  return tf.engine().runKernel(kernel, present as never, attrs as unknown as NamedAttrMap) as T;
}

function checkConv(op: string, x: Tensor, filter: Tensor, channelsIn: number) {
  if (x.rank !== 4) throw new Error(`${op}: x must be rank 4 (NHWC), got shape [${x.shape}]`);
  if (filter.rank !== 4) throw new Error(`${op}: filter must be rank 4 (HWIO), got shape [${filter.shape}]`);
  if (x.shape[3] !== channelsIn) throw new Error(`${op}: x has ${x.shape[3]} channels, the filter expects ${channelsIn}`);
}

/** act(conv2d(x, filter) + bias), one kernel forward and backward. */
export function conv2dFused(a: FusedConvArgs): Tensor4D {
  checkConv('conv2dFused', a.x, a.filter, a.filter.shape[2]);
  return run<Tensor4D>('FusedConv2D', { x: a.x, filter: a.filter, bias: a.bias }, {
    strides: a.strides ?? 1,
    pad: a.pad,
    dataFormat: 'NHWC',
    dilations: a.dilations ?? 1,
    dimRoundingMode: a.dimRoundingMode,
    activation: a.activation ?? 'linear',
    leakyreluAlpha: a.leakyreluAlpha ?? 0.2,
    biasShape: a.bias?.shape,
  });
}

/** act(depthwiseConv2d(x, filter) + bias); filter [kh, kw, channels, multiplier]. */
export function depthwiseConv2dFused(a: FusedConvArgs): Tensor4D {
  checkConv('depthwiseConv2dFused', a.x, a.filter, a.filter.shape[2]);
  return run<Tensor4D>('FusedDepthwiseConv2D', { x: a.x, filter: a.filter, bias: a.bias }, {
    strides: a.strides ?? 1,
    pad: a.pad,
    dilations: a.dilations ?? 1,
    dimRoundingMode: a.dimRoundingMode,
    activation: a.activation ?? 'linear',
    leakyreluAlpha: a.leakyreluAlpha ?? 0.2,
    biasShape: a.bias?.shape,
  });
}

/** act(a · b + bias) for matrices (rank 2), bias per output column or scalar. */
export function matMulFused(args: {
  a: Tensor2D;
  b: Tensor2D;
  bias?: Tensor;
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: FusedActivation;
  leakyreluAlpha?: number;
}): Tensor2D {
  if (args.a.rank !== 2 || args.b.rank !== 2) throw new Error(`matMulFused: a and b must be rank 2, got [${args.a.shape}] and [${args.b.shape}]`);
  return run<Tensor2D>('_FusedMatMul', { a: args.a, b: args.b, bias: args.bias }, {
    transposeA: !!args.transposeA,
    transposeB: !!args.transposeB,
    activation: args.activation ?? 'linear',
    leakyreluAlpha: args.leakyreluAlpha ?? 0.2,
    biasShape: args.bias?.shape,
  });
}
