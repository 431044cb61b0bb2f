// Golden adapter: EDAM's DA layer (graphs/edam/da-layer.ts, SPEC.md §3.2) on the vector's
// features, through an interpreter; returns the masks and the conv output before normalisation.

import { DaLayer } from '../../../graphs/edam/da-layer.ts';
import type { GraphDef } from '../../../graphs/graph.ts';
import { Module } from '../../../graphs/module.ts';
import { forwardAll, paramsFromVector, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

/** Holds the DA layer under its official name, `mask_layer`. */
class DaOnly extends Module {
  readonly maskLayer: DaLayer;
  constructor(inChannels: number, numMasks: number) {
    super();
    this.maskLayer = this.child('mask_layer', new DaLayer(inChannels, numMasks));
  }
}

export function daLayerGraph(inChannels: number, numMasks: number): GraphDef {
  const module = new DaOnly(inChannels, numMasks).finalise();
  return {
    name: 'edam-da-layer-golden',
    method: 'edam',
    module,
    inputs: [{ name: 'features', channels: inChannels, meaning: 'trunk features (stub)' }],
    outputs: [
      { name: 'masks', meaning: 'DA masks [N, K+1, h, w]' },
      { name: 'conv_out', meaning: 'mask_layer conv output before the L2 normalisation' },
    ],
    classNames: Array.from({ length: numMasks - 1 }, (_, i) => `class${i + 1}`),
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference(ops, inputs) {
      const { convOut, masks } = module.maskLayer.masksWithLogits(ops, inputs.features);
      return { masks, conv_out: convOut };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const features = tensorOf(v.inputs.features);
  const [numMasks, inChannels] = v.inputs['mask_layer.weight'].shape;
  const graph = daLayerGraph(inChannels, numMasks);
  const values = paramsFromVector(v, { 'mask_layer.weight': 'mask_layer.weight' });
  const [out] = await forwardAll(graph, values, [{ features: { dims: features.shape, data: features.data } }], via);
  return {
    masks: { shape: out.masks.dims, data: out.masks.data },
    conv_out: { shape: out.conv_out.dims, data: out.conv_out.data },
  };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
