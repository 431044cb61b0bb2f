// tfjs kernels for dense and depthwise convolutions on the 'wsss-cpu' backend, forward and
// both gradients, plus our dilation-aware gradient kernels (WsssConv2DBackprop*,
// WsssDepthwiseConv2dNativeBackprop*). The stock backprop kernels take no dilation (the
// depthwise ones accept the attribute but ignore it), which is why tfjs refuses gradients
// through dilated convolutions; ours read `dilations` from their attributes.
// NCHW inputs and PReLU activations go to the stock kernels (rare, and not our layout).

import { backend_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { Act, activationCode } from './activation.ts';
import { f32, output, sizeOf, uninitialized } from './backend-data.ts';
import { convParams } from './conv-params.ts';
import type { KernelEngine } from './engine.ts';

type Pad = backend_util.ExplicitPadding | 'valid' | 'same' | number;
type Pair = [number, number] | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

export const WSSS_CONV2D_BACKPROP_INPUT = 'WsssConv2DBackpropInput';
export const WSSS_CONV2D_BACKPROP_FILTER = 'WsssConv2DBackpropFilter';
export const WSSS_DEPTHWISE_BACKPROP_INPUT = 'WsssDepthwiseConv2dNativeBackpropInput';
export const WSSS_DEPTHWISE_BACKPROP_FILTER = 'WsssDepthwiseConv2dNativeBackpropFilter';

interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: Pair;
  dimRoundingMode?: Rounding;
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

function attrsOf(a: NamedAttrMap): ConvAttrs {
  return a as unknown as ConvAttrs;
}

function shape4(t: TensorInfo | number[]): [number, number, number, number] {
  const s = Array.isArray(t) ? t : t.shape;
  return s as [number, number, number, number];
}

/** Per-channel bias as a Float32Array of length `channels` (a scalar bias is broadcast), or
 * undefined when the bias has another shape (handled by the stock kernel). */
function channelBias(backend: unknown, bias: TensorInfo | undefined, channels: number): Float32Array | null | undefined {
  if (!bias) return null;
  const n = sizeOf(bias.shape);
  const values = f32(backend, bias);
  if (n === channels && (bias.shape.length <= 1 || bias.shape.slice(0, -1).every((d) => d === 1))) return values;
  if (n === 1) return new Float32Array(channels).fill(values[0]);
  return undefined;
}

export function convKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const conv2D: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    if (a.dataFormat === 'NCHW') return stock('Conv2D')(args);
    const info = backend_util.computeConv2DInfo(shape4(x), shape4(filter), a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
    const y = uninitialized(sizeOf(info.outShape));
    engine.conv2d(convParams(info), f32(backend, x), f32(backend, filter), null, Act.Linear, 0, y);
    return output(backend, info.outShape, y);
  };

  const fusedConv2D: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const act = activationCode(a.activation);
    if (a.dataFormat === 'NCHW' || act === undefined || inputs.preluActivationWeights) return stock('FusedConv2D')(args);
    const info = backend_util.computeConv2DInfo(shape4(x), shape4(filter), a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
    const bias = channelBias(backend, inputs.bias as TensorInfo | undefined, info.outChannels);
    if (bias === undefined) return stock('FusedConv2D')(args);
    const y = uninitialized(sizeOf(info.outShape));
    engine.conv2d(convParams(info), f32(backend, x), f32(backend, filter), bias, act, a.leakyreluAlpha ?? 0.2, y);
    return output(backend, info.outShape, y);
  };

  const backpropInput = (name: string): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    if (a.dataFormat === 'NCHW') return stock('Conv2DBackpropInput')(args);
    const inputShape = shape4(a.inputShape!);
    const info = backend_util.computeConv2DInfo(inputShape, shape4(filter), a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
    checkOutShape(name, info, dy);
    const dx = uninitialized(sizeOf(inputShape));
    engine.conv2dGradInput(convParams(info), f32(backend, dy), f32(backend, filter), dx);
    return output(backend, inputShape, dx);
  };

  const backpropFilter = (name: string): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    if (a.dataFormat === 'NCHW') return stock('Conv2DBackpropFilter')(args);
    const filterShape = shape4(a.filterShape!);
    const info = backend_util.computeConv2DInfo(shape4(x), filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
    checkOutShape(name, info, dy);
    const dw = uninitialized(sizeOf(filterShape));
    engine.conv2dGradFilter(convParams(info), f32(backend, x), f32(backend, dy), dw);
    return output(backend, filterShape, dw);
  };

  const depthwise = (fused: boolean): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const x = inputs.x as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const name = fused ? 'FusedDepthwiseConv2D' : 'DepthwiseConv2dNative';
    const act = fused ? activationCode(a.activation) : Act.Linear;
    if (act === undefined || inputs.preluActivationWeights) return stock(name)(args);
    const info = backend_util.computeConv2DInfo(shape4(x), shape4(filter), a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    const bias = fused ? channelBias(backend, inputs.bias as TensorInfo | undefined, info.outChannels) : null;
    if (bias === undefined) return stock(name)(args);
    const y = uninitialized(sizeOf(info.outShape));
    engine.depthwise(convParams(info, true), f32(backend, x), f32(backend, filter), bias, act, a.leakyreluAlpha ?? 0.2, y);
    return output(backend, info.outShape, y);
  };

  const depthwiseBackpropInput = (name: string): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const inputShape = shape4(a.inputShape!);
    const info = backend_util.computeConv2DInfo(inputShape, shape4(filter), a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    checkOutShape(name, info, dy);
    const dx = uninitialized(sizeOf(inputShape));
    engine.depthwiseGradInput(convParams(info, true), f32(backend, dy), f32(backend, filter), dx);
    return output(backend, inputShape, dx);
  };

  const depthwiseBackpropFilter = (name: string): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const a = attrsOf(args.attrs ?? {});
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const filterShape = shape4(a.filterShape!);
    const info = backend_util.computeConv2DInfo(shape4(x), filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    checkOutShape(name, info, dy);
    const dw = uninitialized(sizeOf(filterShape));
    engine.depthwiseGradFilter(convParams(info, true), f32(backend, x), f32(backend, dy), dw);
    return output(backend, filterShape, dw);
  };

  const k = (kernelName: string, kernelFunc: KernelFunc): KernelConfig => ({ kernelName, backendName: '', kernelFunc });
  return [
    k('Conv2D', conv2D),
    k('FusedConv2D', fusedConv2D),
    // the stock kernel names carry no dilation attribute, so they compute with dilation 1
    k('Conv2DBackpropInput', (args) => backpropInput('Conv2DBackpropInput')({ ...args, attrs: { ...args.attrs, dilations: 1 } })),
    k('Conv2DBackpropFilter', (args) => backpropFilter('Conv2DBackpropFilter')({ ...args, attrs: { ...args.attrs, dilations: 1 } })),
    k(WSSS_CONV2D_BACKPROP_INPUT, backpropInput(WSSS_CONV2D_BACKPROP_INPUT)),
    k(WSSS_CONV2D_BACKPROP_FILTER, backpropFilter(WSSS_CONV2D_BACKPROP_FILTER)),
    k('DepthwiseConv2dNative', depthwise(false)),
    k('FusedDepthwiseConv2D', depthwise(true)),
    // tfjs passes dilations to these; the stock CPU kernels ignore them, ours honour them
    k('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput('DepthwiseConv2dNativeBackpropInput')),
    k('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter('DepthwiseConv2dNativeBackpropFilter')),
    k(WSSS_DEPTHWISE_BACKPROP_INPUT, depthwiseBackpropInput(WSSS_DEPTHWISE_BACKPROP_INPUT)),
    k(WSSS_DEPTHWISE_BACKPROP_FILTER, depthwiseBackpropFilter(WSSS_DEPTHWISE_BACKPROP_FILTER)),
  ];
}

function checkOutShape(kernel: string, info: backend_util.Conv2DInfo, dy: TensorInfo): void {
  const want = info.outShape;
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== want[i]))
    throw new Error(`${kernel}: dy has shape [${dy.shape}], the convolution's output is [${want}]`);
}
