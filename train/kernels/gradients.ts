// Gradient configs that replace tfjs's for Conv2D, DepthwiseConv2dNative, FusedConv2D,
// FusedDepthwiseConv2D and _FusedMatMul. tfjs's own refuse dilation > 1 (every backend), yet
// DeepLab heads, OS-8/16 ResNets and WideResNet-38 are dilated. Ours:
//  - dilation 1: the stock backprop kernels, as tfjs does;
//  - dilation > 1 on a backend with our kernels (wsss-cpu): our dilation-aware backprop kernels;
//  - dilation > 1 elsewhere (cpu, tfjs-node, tfjs-node-gpu): the atrous identity
//      conv_d(x) = batchToSpace_d(conv_1(spaceToBatch_d(pad(x))))
//    differentiated piece by piece, so only tfjs ops with stock gradients are involved.
// The fused kernels get registered gradients too (tfjs only differentiates them through its
// op-level customGrad), so that fused-ops.ts can keep them fused while training. FusedBatchNorm,
// Mean and Relu get leaner gradients (fewer full-size passes, same values) because a profile
// of a ResNet training step on wsss-cpu is dominated by their element-wise work.
// Registration is global (gradients are not per backend) and idempotent.

import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import {
  WSSS_CONV2D_BACKPROP_FILTER,
  WSSS_CONV2D_BACKPROP_INPUT,
  WSSS_DEPTHWISE_BACKPROP_FILTER,
  WSSS_DEPTHWISE_BACKPROP_INPUT,
} from './conv-kernels.ts';
import { WSSS_ACTIVATION_GRAD } from './elementwise-kernels.ts';

type Pair = [number, number];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: number | Pair;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | Pair;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
  /** Set by fused-ops.ts: the bias's shape, since a fused kernel's saved inputs cannot hold an
   * absent bias. Without it a bias is taken to be [outChannels]. */
  biasShape?: number[];
}

const pair = (v: number | Pair | undefined): Pair => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
const isOne = (v: number | Pair | undefined) => pair(v)[0] === 1 && pair(v)[1] === 1;

function runKernel(name: string, inputs: Record<string, Tensor>, attrs: object): Tensor {
  return tf.engine().runKernel(name, inputs as never, attrs as unknown as NamedAttrMap) as Tensor;
}

function backendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** dy · act'(y), for the activations the fused kernels apply. */
export function activationGrad(dy: Tensor, y: Tensor, activation: string | undefined, alpha = 0.2): Tensor {
  const act = activation ?? 'linear';
  if (act === 'linear') return dy;
  if (act === 'prelu') throw new Error('wsss gradients: no gradient for a fused prelu activation; apply prelu as a separate op');
  if (backendHas(WSSS_ACTIVATION_GRAD)) return runKernel(WSSS_ACTIVATION_GRAD, { dy, y }, { activation: act, leakyreluAlpha: alpha });
  return tf.tidy(() => {
    const positive = tf.greater(y, 0);
    switch (act) {
      case 'relu':
        return tf.mul(dy, tf.step(y));
      case 'relu6':
        return tf.mul(dy, tf.cast(tf.logicalAnd(positive, tf.less(y, 6)), 'float32'));
      case 'leakyrelu':
        return tf.where(positive, dy, tf.mul(dy, alpha));
      case 'elu':
        return tf.where(positive, dy, tf.mul(dy, tf.add(y, 1)));
      case 'sigmoid':
        return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
      default:
        throw new Error(`wsss gradients: no gradient for fused activation '${act}'`);
    }
  });
}

interface ConvGrads {
  x: () => Tensor;
  filter: () => Tensor;
}

/** Input and filter gradients of a dense or depthwise NHWC convolution, any dilation. */
function convGrads(x: Tensor4D, filter: Tensor4D, dy: Tensor4D, a: ConvAttrs, depthwise: boolean): ConvGrads {
  const dil = pair(a.dilations);
  const inputName = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const filterName = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
  const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode };
  if (dil[0] === 1 && dil[1] === 1) {
    const extra = depthwise ? { dilations: [1, 1] } : { dataFormat: a.dataFormat ?? 'NHWC' };
    return {
      x: () => runKernel(inputName, { dy, filter }, { ...common, ...extra, inputShape: x.shape }),
      filter: () => runKernel(filterName, { x, dy }, { ...common, ...extra, filterShape: filter.shape }),
    };
  }
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('wsss gradients: dilated convolutions are differentiated in NHWC only');
  const ours = depthwise
    ? [WSSS_DEPTHWISE_BACKPROP_INPUT, WSSS_DEPTHWISE_BACKPROP_FILTER]
    : [WSSS_CONV2D_BACKPROP_INPUT, WSSS_CONV2D_BACKPROP_FILTER];
  if (backendHas(ours[0]) && backendHas(ours[1])) {
    const attrs = { ...common, dilations: dil };
    return {
      x: () => runKernel(ours[0], { dy, filter }, { ...attrs, inputShape: x.shape }),
      filter: () => runKernel(ours[1], { x, dy }, { ...attrs, filterShape: filter.shape }),
    };
  }
  return atrousGrads(x, filter, dy, a, depthwise);
}

/** Gradients of a dilated, stride-1 convolution through its space-to-batch form: pad x by the
 * convolution's padding (plus up to d-1 rows/columns so the size divides by d), split it into
 * d×d phase images, convolve each with the undilated filter ('valid'), interleave back and
 * crop. The adjoint of the interleave-and-crop is zero-padding dy and splitting it the same
 * way, so both gradients are stock undilated backprop kernels on the phase images. */
function atrousGrads(x: Tensor4D, filter: Tensor4D, dy: Tensor4D, a: ConvAttrs, depthwise: boolean): ConvGrads {
  const dil = pair(a.dilations);
  if (!isOne(a.strides)) throw new Error(`wsss gradients: dilation ${dil} needs stride 1, got ${pair(a.strides)}`);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, dil, a.pad, a.dimRoundingMode, depthwise);
  const { top, bottom, left, right } = info.padInfo;
  const [n, h, w, c] = x.shape;
  const extraH = (dil[0] - ((h + top + bottom) % dil[0])) % dil[0];
  const extraW = (dil[1] - ((w + left + right) % dil[1])) % dil[1];
  const noCrops: [number, number][] = [[0, 0], [0, 0]];
  const phases = () => {
    const xp = tf.pad(x, [[0, 0], [top, bottom + extraH], [left, right + extraW], [0, 0]]);
    const xs = tf.spaceToBatchND(xp, dil, noCrops) as Tensor4D;
    const dyp = tf.pad(dy, [[0, 0], [0, extraH], [0, extraW], [0, 0]]);
    const dys = tf.spaceToBatchND(dyp, dil, noCrops) as Tensor4D;
    return { xs, dys };
  };
  const inputName = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const filterName = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
  const attrs = depthwise
    ? { strides: [1, 1], pad: 'valid', dilations: [1, 1] }
    : { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' };
  return {
    x: () =>
      tf.tidy(() => {
        const { xs, dys } = phases();
        const dxs = runKernel(inputName, { dy: dys, filter }, { ...attrs, inputShape: xs.shape }) as Tensor4D;
        const dxp = tf.batchToSpaceND(dxs, dil, noCrops) as Tensor4D;
        return tf.slice(dxp, [0, top, left, 0], [n, h, w, c]);
      }),
    filter: () =>
      tf.tidy(() => {
        const { xs, dys } = phases();
        return runKernel(filterName, { x: xs, dy: dys }, { ...attrs, filterShape: filter.shape });
      }),
  };
}

/** Gradient of a bias added along the last axis: dy summed over every other axis. A scalar
 * bias (one value for all channels) takes the total. */
function biasGrad(dyAct: Tensor, biasShape: number[] | undefined): Tensor {
  const channels = dyAct.shape[dyAct.shape.length - 1];
  const shape = biasShape ?? [channels];
  const perChannel = tf.sum(dyAct, dyAct.shape.map((_, i) => i).slice(0, -1));
  const size = shape.reduce((p, d) => p * d, 1);
  return tf.reshape(size === channels ? perChannel : tf.sum(perChannel), shape);
}

const conv2DGrad: GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as Tensor4D[];
    return { ...convGrads(x, filter, dy as Tensor4D, attrs as unknown as ConvAttrs, false) };
  },
};

const depthwiseGrad: GradConfig = {
  kernelName: 'DepthwiseConv2dNative',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as Tensor4D[];
    return { ...convGrads(x, filter, dy as Tensor4D, attrs as unknown as ConvAttrs, true) };
  },
};

function fusedConvGrad(kernelName: string, depthwise: boolean): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as Tensor4D[];
      const a = attrs as unknown as ConvAttrs;
      if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error(`wsss gradients: ${kernelName} is differentiated in NHWC only`);
      const dyAct = activationGrad(dy as Tensor, y, a.activation, a.leakyreluAlpha) as Tensor4D;
      const grads = convGrads(x, filter, dyAct, a, depthwise);
      return { ...grads, bias: () => biasGrad(dyAct, a.biasShape) };
    },
  };
}

const fusedMatMulGrad: GradConfig = {
  kernelName: '_FusedMatMul',
  inputsToSave: ['a', 'b'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [a, b, y] = saved;
    const { transposeA, transposeB, activation, leakyreluAlpha, biasShape } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
      biasShape?: number[];
    };
    const g = activationGrad(dy as Tensor, y, activation, leakyreluAlpha);
    const mm = (p: Tensor, q: Tensor, tp: boolean, tq: boolean) => tf.matMul(p, q, tp, tq);
    let da: () => Tensor;
    let db: () => Tensor;
    if (!transposeA && !transposeB) {
      da = () => mm(g, b, false, true);
      db = () => mm(a, g, true, false);
    } else if (!transposeA && transposeB) {
      da = () => mm(g, b, false, false);
      db = () => mm(g, a, true, false);
    } else if (transposeA && !transposeB) {
      da = () => mm(b, g, false, true);
      db = () => mm(a, g, false, false);
    } else {
      da = () => mm(b, g, true, true);
      db = () => mm(g, a, true, true);
    }
    return { a: da, b: db, bias: () => biasGrad(g, biasShape) };
  },
};

/**
 * Batch norm with given statistics, y = (x − mean)·scale/√(var + ε) + offset, differentiated
 * w.r.t. all five inputs like tfjs's config, in fewer full-size passes: tfjs's tiles the
 * per-channel factor to x's shape and makes about ten passes; this broadcasts it instead.
 */
const fusedBatchNormGrad: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const g = dy as Tensor;
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor) => (axes.length ? tf.reshape(tf.sum(t, axes), mean.shape) : t);
    const scaleValue = scale ?? tf.scalar(1);
    const rstd = tf.rsqrt(tf.add(variance, varianceEpsilon));
    // Σ dy·(x − mean) per channel (the variance and scale gradients each compute it: sharing
    // it across their separate tidy scopes would leak it whenever only one is asked for)
    const centredDot = () => reduce(tf.mul(g, tf.sub(x, mean)));
    return {
      x: () => tf.mul(g, tf.mul(scaleValue, rstd)),
      mean: () => tf.neg(tf.mul(reduce(g), tf.mul(scaleValue, rstd))),
      variance: () => tf.mul(centredDot(), tf.mul(tf.mul(scaleValue, tf.pow(rstd, 3)), -0.5)),
      scale: () => tf.reshape(tf.mul(centredDot(), rstd), scaleValue.shape),
      offset: () => reduce(g),
    };
  },
};

/** Mean: dy spread back over the reduced axes in one broadcast, instead of mul(dy, ones)/n. */
const meanGrad: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis } = attrs as unknown as { axis: number | number[] };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = axes.reduce((p, a) => p * x.shape[a], 1);
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy as Tensor, expanded), count), x.shape) };
  },
};

/** Relu: dy where x > 0, in one pass where the backend has our kernel. */
const reluGrad: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    if (x.dtype === 'float32' && backendHas(WSSS_ACTIVATION_GRAD))
      return { x: () => runKernel(WSSS_ACTIVATION_GRAD, { dy: dy as Tensor, y: x }, { activation: 'relu' }) };
    return { x: () => tf.mul(dy as Tensor, tf.step(tf.cast(x, 'float32'))) };
  },
};

let installed = false;

/** Registers the dilation-aware gradients (after tfjs's own, which they replace). */
export function installGradientOverrides(): void {
  if (installed) return;
  for (const g of [
    conv2DGrad,
    depthwiseGrad,
    fusedConvGrad('FusedConv2D', false),
    fusedConvGrad('FusedDepthwiseConv2D', true),
    fusedMatMulGrad,
    fusedBatchNormGrad,
    meanGrad,
    reluGrad,
  ])
    tf.registerGradient(g);
  installed = true;
}
