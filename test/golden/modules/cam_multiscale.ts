// Golden adapter: VWE's CAM inference from images (SPEC.md §2.5). The vector's stub network
// (conv3x3 s2 + ReLU, conv3x3 + ReLU, bias-free 1×1 classifier; CAM = ReLU(classifier(F)), widths
// from the file's weights) is assembled from graph layers around the shared CamHead, run on each
// scale's [image, mirrored image] batch by an interpreter, and the views go through the runtime's
// merge (as the vwe_cam_inference adapter). The vector's images are already normalised.

import { CamHead } from '../../../graphs/cam-head.ts';
import type { GraphDef } from '../../../graphs/graph.ts';
import { Conv2d } from '../../../graphs/layers.ts';
import { Module } from '../../../graphs/module.ts';
import type { Ops, Tensor } from '../../../graphs/ops.ts';
import { mergeImageCams, withFlippedTwin } from '../../../runtime/cam/multiscale-cams.ts';
import { forwardAll, inputsByNumber, paramsFromVector, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { irnOutputs } from './vwe_cam_inference.ts';

/** conv3x3 (with bias) + ReLU, as `stageN.conv` of the vector's stub backbone. */
class ConvReluStage extends Module {
  readonly conv: Conv2d;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv = this.child('conv', new Conv2d(cin, cout, 3, { stride, padding: 1 }));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.conv.forward(ops, x));
  }
}

class VweTinyNet extends Module {
  readonly stage1: ConvReluStage;
  readonly stage4: ConvReluStage;
  readonly head: CamHead;
  constructor(width1: number, width4: number, numClasses: number) {
    super();
    this.stage1 = this.child('stage1', new ConvReluStage(3, width1, 2));
    this.stage4 = this.child('stage4', new ConvReluStage(width1, width4, 1));
    this.head = this.child('head', new CamHead(width4, numClasses));
  }
}

export function vweTinyGraph(width1: number, width4: number, numClasses: number): GraphDef {
  const module = new VweTinyNet(width1, width4, numClasses).finalise();
  return {
    name: 'vwe-tiny-golden',
    method: 'cam',
    module,
    inputs: [{ name: 'image', channels: 3, meaning: 'normalised float32 NCHW (the vector’s image_s*)' }],
    outputs: [
      { name: 'scores', meaning: 'class logits [N, C]' },
      { name: 'raw_cams', meaning: 'ReLU(classifier(F)) [N, C, h, w], stride 2' },
    ],
    classNames: Array.from({ length: numClasses }, (_, i) => `class${i + 1}`),
    normalisation: null,
    inputConvention: 'normalised float32 NCHW (ImageNet mean/std)',
    outputStride: 2,
    inference(ops, inputs) {
      const f = module.stage4.forward(ops, module.stage1.forward(ops, inputs.image));
      return { scores: module.head.scores(ops, f), raw_cams: module.head.rawCams(ops, f) };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const scales = v.params.scales as number[];
  const numClasses = v.inputs['classifier.weight'].shape[0];
  const graph = vweTinyGraph(v.inputs['stage1.conv.weight'].shape[0], v.inputs['stage4.conv.weight'].shape[0], numClasses);
  const values = paramsFromVector(v, {
    'stage1.conv.weight': 'stage1.conv.weight',
    'stage1.conv.bias': 'stage1.conv.bias',
    'stage4.conv.weight': 'stage4.conv.weight',
    'stage4.conv.bias': 'stage4.conv.bias',
    'head.classifier.weight': 'classifier.weight',
  });
  const images = inputsByNumber(v, 'image_s');
  const keyOf = (s: number) => Object.keys(v.inputs).find((k) => k.startsWith('image_s') && Number(k.slice(7)) === s)!.slice(7);
  const feeds = scales.map((s) => {
    const img = images.get(s);
    if (!img) throw new Error(`cam_multiscale: no input image_s<${s}>`);
    const [c, h, w] = img.shape;
    return { image: withFlippedTwin(Float32Array.from(img.data), c, h, w) };
  });
  const outs = await forwardAll(graph, values, feeds, via);
  const result: ImplOutputs = {};
  scales.forEach((s, i) => {
    const raw = outs[i].raw_cams;
    result[`raw_cam_s${keyOf(s)}`] = { shape: raw.dims, data: raw.data };
  });
  // The first scale is 1.0: its image size is the output size.
  const [, H, W] = images.get(scales[0])!.shape;
  const cams = mergeImageCams(
    scales.map((s, i) => ({ scale: s, rawCams: outs[i].raw_cams })),
    H,
    W,
    { scales, flip: true, rule: 'max-flip-sum', stridedOutput: v.params.strided_stride as number, normEps: v.params.norm_eps as number },
  );
  return { ...result, ...irnOutputs(cams, v.inputs.labels.data, v.params.bkg_score as number) };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
