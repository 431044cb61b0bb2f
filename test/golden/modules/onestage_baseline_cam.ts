// Golden adapter: 1-Stage's CAM baseline head (graphs/onestage/baseline-cam.ts, SPEC.md §1.8) on
// the vector's stub features, through an interpreter. The masks' size is the vector's image_hw,
// given to the graph as a fixed resize target.

import type { GraphDef } from '../../../graphs/graph.ts';
import { BaselineCam } from '../../../graphs/onestage/baseline-cam.ts';
import { forwardAll, paramsFromVector, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

export function baselineCamGraph(inChannels: number, numForeground: number, imageHw: [number, number], bgScore?: number, normEps?: number): GraphDef {
  const module = new BaselineCam(inChannels, numForeground, bgScore, normEps).finalise();
  return {
    name: 'onestage-baseline-cam-golden',
    method: 'cam',
    module,
    inputs: [{ name: 'features', channels: inChannels, meaning: 'backbone features (stub)' }],
    outputs: [
      { name: 'class_scores', meaning: 'fc8(GAP(features)) [N, C-1]' },
      { name: 'masks', meaning: '[N, C, H, W]: background 0.1, then ReLU(resize_AC(fc8(features))) / (max + 1e-5)' },
    ],
    classNames: Array.from({ length: numForeground }, (_, i) => `class${i + 1}`),
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference(ops, inputs) {
      return { class_scores: module.scores(ops, inputs.features), masks: module.masks(ops, inputs.features, { size: imageHw }) };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const features = tensorOf(v.inputs.features);
  const [numFg, inChannels] = v.inputs['fc8.weight'].shape;
  const hw = v.inputs.image_hw.data as [number, number];
  const graph = baselineCamGraph(inChannels, numFg, [hw[0], hw[1]], v.params.bg_score as number | undefined, v.params.norm_eps as number | undefined);
  const values = paramsFromVector(v, { 'fc8.weight': 'fc8.weight' });
  const [out] = await forwardAll(graph, values, [{ features: { dims: features.shape, data: features.data } }], via);
  return {
    class_scores: { shape: out.class_scores.dims, data: out.class_scores.data },
    masks: { shape: out.masks.dims, data: out.masks.data },
  };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
