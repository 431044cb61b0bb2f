// Pooling and bilinear-resize kernels on the 'wsss-cpu' backend, forward and gradient, NHWC.
// Semantics follow tfjs's CPU kernels (max: first strict maximum; average: divided by the
// in-bounds count forward and by the window size backward, as tfjs's gradient kernel) with one
// deliberate difference: ResizeBilinearGrad honours halfPixelCenters and keeps the input's
// shape. tfjs's CPU kernel ignores halfPixelCenters (its gradient is that of the other
// convention: wrong for PyTorch's align_corners=False, the interpreter's mode) and reports the
// shape [batch, width, height, channels].

import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, output, sizeOf, uninitialized } from './backend-data.ts';
import { convParams } from './conv-params.ts';
import type { KernelEngine } from './engine.ts';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function spatialKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  const poolInfo = (x: TensorInfo, a: PoolAttrs) =>
    backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);

  const poolForward = (name: string, isMax: boolean): KernelFunc => (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32' || x.shape.length !== 4) return stock(name)(args);
    const info = poolInfo(x, args.attrs as unknown as PoolAttrs);
    const y = uninitialized(sizeOf(info.outShape));
    (isMax ? engine.maxPool : engine.avgPool)(convParams(info), f32(backend, x), y);
    return output(backend, info.outShape, y);
  };

  const maxPoolGrad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.input as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const info = poolInfo(x, args.attrs as unknown as PoolAttrs);
    const dx = uninitialized(sizeOf(x.shape));
    engine.maxPoolGrad(convParams(info), f32(backend, x), f32(backend, dy), dx);
    return output(backend, x.shape, dx);
  };

  const avgPoolGrad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.input as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const info = poolInfo(x, args.attrs as unknown as PoolAttrs);
    const dx = uninitialized(sizeOf(x.shape));
    engine.avgPoolGrad(convParams(info), f32(backend, dy), dx);
    return output(backend, x.shape, dx);
  };

  const resize: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const images = inputs.images as TensorInfo;
    const { alignCorners, halfPixelCenters, size } = (args.attrs ?? {}) as { alignCorners: boolean; halfPixelCenters: boolean; size: [number, number] };
    if (images.dtype !== 'float32' || images.shape.length !== 4) return stock('ResizeBilinear')(args);
    const [n, h, w, c] = images.shape;
    const outShape = [n, size[0], size[1], c];
    const y = uninitialized(sizeOf(outShape));
    if (y.length > 0) engine.resizeBilinear(Int32Array.of(n, h, w, c, size[0], size[1]), alignCorners ? 1 : 0, halfPixelCenters ? 1 : 0, f32(backend, images), y);
    return output(backend, outShape, y);
  };

  const resizeGrad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const images = inputs.images as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const { alignCorners, halfPixelCenters } = (args.attrs ?? {}) as { alignCorners: boolean; halfPixelCenters?: boolean };
    const [n, h, w, c] = images.shape;
    const dx = uninitialized(sizeOf(images.shape));
    if (dx.length > 0) engine.resizeBilinearGrad(Int32Array.of(n, h, w, c, dy.shape[1], dy.shape[2]), alignCorners ? 1 : 0, halfPixelCenters ? 1 : 0, f32(backend, dy), dx);
    return output(backend, images.shape, dx);
  };

  const k = (kernelName: string, kernelFunc: KernelFunc): KernelConfig => ({ kernelName, backendName: '', kernelFunc });
  return [
    k('MaxPool', poolForward('MaxPool', true)),
    k('AvgPool', poolForward('AvgPool', false)),
    k('MaxPoolGrad', maxPoolGrad),
    k('AvgPoolGrad', avgPoolGrad),
    k('ResizeBilinear', resize),
    k('ResizeBilinearGrad', resizeGrad),
  ];
}
