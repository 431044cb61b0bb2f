// PAMR on its own as a GraphDef, for `wsss refine --pamr` (any method's CAMs or probabilities)
// and the PAMR speed benchmark: the image and the maps in, the refined maps at the image size out.

import type { GraphDef } from '../graph.ts';
import { Module } from '../module.ts';
import { pamr, PAMR_DILATIONS, PAMR_ITERATIONS } from './pamr.ts';

/** PAMR has no parameters: an empty module tree. */
class ParameterFree extends Module {}

export interface PamrGraphOptions {
  /** Channels of the maps (static in the graph). */
  channels: number;
  dilations?: number[];
  iterations?: number;
}

export function pamrGraph(o: PamrGraphOptions): GraphDef {
  const dilations = o.dilations ?? PAMR_DILATIONS;
  const iterations = o.iterations ?? PAMR_ITERATIONS;
  return {
    name: 'pamr',
    method: 'pamr',
    module: new ParameterFree().finalise(),
    inputs: [
      { name: 'image', channels: 3, meaning: 'RGB float32 NCHW in [0,255]' },
      { name: 'maps', channels: o.channels, meaning: 'maps to refine [N, C, h, w] (probabilities or CAMs, any size: resized to the image, align_corners=True)' },
    ],
    outputs: [{ name: 'refined', meaning: `PAMR (dilations ${dilations.join(',')}, ${iterations} iterations) of the maps on the image scaled to [0, 1], [N, C, H, W]` }],
    classNames: [],
    normalisation: null,
    inputConvention: 'RGB float32 NCHW in [0,255]',
    outputStride: 1,
    inference(ops, inputs) {
      // 1-Stage runs PAMR on the de-normalised image in [0, 1]; σ makes the kernel scale-free
      // except for the 1e-8, so the scale matters only on flat regions.
      return { refined: pamr(ops, ops.mul(inputs.image, 1 / 255), inputs.maps, { dilations, iterations }) };
    },
  };
}
