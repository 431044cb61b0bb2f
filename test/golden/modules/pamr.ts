// Golden adapter: PAMR (graphs/onestage/pamr.ts, SPEC.md §1.3) through an interpreter, with the
// vector's dilations and iterations. Also returns the intermediates the d12 vector holds: the
// upsampled mask, σ ([B, K, 1, H, W] there) and the affinities ([B, 1, P, H, W] there) — the same
// row-major data as our [B, K, H, W] and [B, P, H, W].

import type { GraphDef } from '../../../graphs/graph.ts';
import { Module } from '../../../graphs/module.ts';
import { pamr, pamrAffinity } from '../../../graphs/onestage/pamr.ts';
import { forwardAll, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

class NoParameters extends Module {}

export function pamrGoldenGraph(channels: number, dilations: number[], iterations: number): GraphDef {
  return {
    name: 'pamr-golden',
    method: 'onestage',
    module: new NoParameters().finalise(),
    inputs: [
      { name: 'image', channels: 3, meaning: 'RGB in [0, 1]' },
      { name: 'mask', channels, meaning: 'masks' },
    ],
    outputs: [
      { name: 'refined_mask', meaning: 'PAMR output' },
      { name: 'mask_upsampled', meaning: 'mask resized to the image (AC)' },
      { name: 'local_std', meaning: 'σ' },
      { name: 'affinity', meaning: 'α' },
    ],
    classNames: [],
    normalisation: null,
    inputConvention: 'float32 NCHW',
    outputStride: 1,
    inference(ops, inputs) {
      const { localStd, affinity } = pamrAffinity(ops, inputs.image, dilations);
      return {
        refined_mask: pamr(ops, inputs.image, inputs.mask, { dilations, iterations }),
        mask_upsampled: ops.resizeBilinear(inputs.mask, { like: inputs.image }, true),
        local_std: localStd,
        affinity,
      };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const image = tensorOf(v.inputs.image);
  const mask = tensorOf(v.inputs.mask);
  const graph = pamrGoldenGraph(mask.shape[1], v.params.dilations as number[], v.params.num_iter as number);
  const [out] = await forwardAll(graph, new Map(), [{ image: { dims: image.shape, data: image.data }, mask: { dims: mask.shape, data: mask.data } }], via);
  const r: ImplOutputs = { refined_mask: { shape: out.refined_mask.dims, data: out.refined_mask.data } };
  if (v.outputs.mask_upsampled) r.mask_upsampled = { shape: out.mask_upsampled.dims, data: out.mask_upsampled.data };
  const [b, k, h, w] = out.local_std.dims;
  if (v.outputs.local_std) r.local_std = { shape: [b, k, 1, h, w], data: out.local_std.data };
  const p = out.affinity.dims[1];
  if (v.outputs.affinity) r.affinity = { shape: [b, 1, p, h, w], data: out.affinity.data };
  return r;
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
