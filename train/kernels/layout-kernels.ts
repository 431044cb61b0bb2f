// Data-movement kernels on the 'wsss-cpu' backend, all one strided copy (engine.copyStrided):
// Slice, Transpose, Tile, PadV2, Concat and SplitV (the gradient of Concat) on float32. The stock ones walk every element through
// index arithmetic; here each is a loop over contiguous runs (memcpy where both sides allow).
// Slice is also the gradient of Pad, and Tile the broadcast inside tfjs's batch-norm gradient.

import { backend_util, slice_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, output, sizeOf, uninitialized } from './backend-data.ts';
import { contiguousStrides, stridedPlan } from './elementwise.ts';
import type { KernelEngine } from './engine.ts';

export function layoutKernels(engine: KernelEngine, stock: (name: string) => KernelFunc): KernelConfig[] {
  /** Copies `shape` elements from src (offset, strides) into dst (offset, strides); false when
   * the plan does not fit the kernels. */
  const copy = (shape: number[], src: Float32Array, srcOffset: number, srcStrides: number[], dst: Float32Array, dstOffset: number, dstStrides: number[]): boolean => {
    if (sizeOf(shape) === 0) return true;
    const plan = stridedPlan(shape, srcStrides, dstStrides);
    if (!plan) return false;
    engine.copyStrided(plan.shape, plan.srcStrides, plan.dstStrides, src.subarray(srcOffset), dst.subarray(dstOffset));
    return true;
  };

  const slice: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    const { begin, size } = (args.attrs ?? {}) as { begin: number | number[]; size: number | number[] };
    if (x.dtype !== 'float32') return stock('Slice')(args);
    const [b, s] = slice_util.parseSliceParams(x, begin, size);
    slice_util.assertParamsValid(x, b, s);
    const strides = contiguousStrides(x.shape);
    const offset = b.reduce((acc, v, i) => acc + v * strides[i], 0);
    const out = uninitialized(sizeOf(s));
    if (!copy(s, f32(backend, x), offset, strides, out, 0, contiguousStrides(s))) return stock('Slice')(args);
    return output(backend, s, out);
  };

  const transpose: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    const { perm } = (args.attrs ?? {}) as { perm: number[] };
    if (x.dtype !== 'float32') return stock('Transpose')(args);
    const xs = contiguousStrides(x.shape);
    const shape = perm.map((p) => x.shape[p]);
    const out = uninitialized(sizeOf(shape));
    if (!copy(shape, f32(backend, x), 0, perm.map((p) => xs[p]), out, 0, contiguousStrides(shape))) return stock('Transpose')(args);
    return output(backend, shape, out);
  };

  // out[.., r_d·s_d + i_d, ..] = x[.., i_d, ..]: iterate [r_0, s_0, r_1, s_1, ...] with stride 0
  // along every r_d
  const tile: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    const { reps } = (args.attrs ?? {}) as { reps: number[] };
    if (x.dtype !== 'float32' || reps.length !== x.shape.length) return stock('Tile')(args);
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const xs = contiguousStrides(x.shape);
    const os = contiguousStrides(outShape);
    const shape: number[] = [];
    const src: number[] = [];
    const dst: number[] = [];
    x.shape.forEach((d, i) => {
      shape.push(reps[i], d);
      src.push(0, xs[i]);
      dst.push(d * os[i], os[i]);
    });
    const out = uninitialized(sizeOf(outShape));
    if (!copy(shape, f32(backend, x), 0, src, out, 0, dst)) return stock('Tile')(args);
    return output(backend, outShape, out);
  };

  const pad: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    const { paddings, constantValue } = (args.attrs ?? {}) as { paddings: [number, number][]; constantValue: number };
    if (x.dtype !== 'float32') return stock('PadV2')(args);
    const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    const os = contiguousStrides(outShape);
    const out = uninitialized(sizeOf(outShape));
    out.fill(constantValue);
    const offset = paddings.reduce((acc, p, i) => acc + p[0] * os[i], 0);
    if (!copy(x.shape, f32(backend, x), 0, contiguousStrides(x.shape), out, offset, os)) return stock('PadV2')(args);
    return output(backend, outShape, out);
  };

  const concat: KernelFunc = (args) => {
    const { backend } = args;
    const list = args.inputs as unknown as TensorInfo[];
    const { axis } = (args.attrs ?? {}) as { axis: number | number[] };
    if (list.length === 0 || list.some((t) => t.dtype !== 'float32')) return stock('Concat')(args);
    const ax = util.parseAxisParam(axis, list[0].shape)[0];
    const outShape = backend_util.computeOutShape(list.map((t) => t.shape), ax);
    const os = contiguousStrides(outShape);
    const out = uninitialized(sizeOf(outShape));
    let at = 0;
    for (const t of list) {
      if (!copy(t.shape, f32(backend, t), 0, contiguousStrides(t.shape), out, at * os[ax], os)) return stock('Concat')(args);
      at += t.shape[ax];
    }
    return output(backend, outShape, out);
  };

  const split: KernelFunc = (args) => {
    const { inputs, backend } = args;
    const x = inputs.x as TensorInfo;
    const { numOrSizeSplits, axis } = (args.attrs ?? {}) as { numOrSizeSplits: number | number[]; axis: number | number[] };
    if (x.dtype !== 'float32') return stock('SplitV')(args);
    const ax = util.parseAxisParam(axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax) as number[];
    const xs = contiguousStrides(x.shape);
    const src = f32(backend, x);
    const outs: TensorInfo[] = [];
    let at = 0;
    for (const size of sizes) {
      const shape = x.shape.map((d, i) => (i === ax ? size : d));
      const out = uninitialized(sizeOf(shape));
      if (!copy(shape, src, at * xs[ax], xs, out, 0, contiguousStrides(shape))) {
        for (const o of outs) (backend as { disposeData(id: unknown): void }).disposeData(o.dataId);
        return stock('SplitV')(args);
      }
      outs.push(output(backend, shape, out));
      at += size;
    }
    return outs;
  };

  const k = (kernelName: string, kernelFunc: KernelFunc): KernelConfig => ({ kernelName, backendName: '', kernelFunc });
  return [k('Slice', slice), k('Transpose', transpose), k('Tile', tile), k('PadV2', pad), k('Concat', concat), k('SplitV', split)];
}
