// Golden adapter: EDAM's inference CAMs (SPEC.md §3.4). The vector's network (one conv3x3 s2
// with bias as the trunk, no activation, then the DA layer of graphs/edam/da-layer.ts; widths from
// the file's weights) runs on each scale's [image, mirrored image] batch through an interpreter;
// the views of DA masks go through the runtime's merge (mergeImageCams, rule 'sum', each class
// divided by its max without epsilon). Mask c of the DA layer is foreground class c, so the label
// vector's indices select the merged channels directly (mask K is never kept).

import { DaLayer } from '../../../graphs/edam/da-layer.ts';
import type { GraphDef } from '../../../graphs/graph.ts';
import { Conv2d } from '../../../graphs/layers.ts';
import { Module } from '../../../graphs/module.ts';
import { mergeImageCams, viewsOfOutput, withFlippedTwin } from '../../../runtime/cam/multiscale-cams.ts';
import { selectChannels } from '../../../runtime/cam/multiscale.ts';
import { forwardAll, inputsByNumber, paramsFromVector, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

/** EDAM keeps the classes whose label exceeds this (`infer_cls.py`). */
const LABEL_CUT = 1e-5;

/** The vector's stand-in for ResNet-38: `trunk.conv`, conv3x3 s2 with bias, no activation. */
class OneConvTrunk extends Module {
  readonly conv: Conv2d;
  constructor(width: number) {
    super();
    this.conv = this.child('conv', new Conv2d(3, width, 3, { stride: 2, padding: 1 }));
  }
}

class EdamTinyNet extends Module {
  readonly trunk: OneConvTrunk;
  readonly maskLayer: DaLayer;
  constructor(width: number, numMasks: number) {
    super();
    this.trunk = this.child('trunk', new OneConvTrunk(width));
    this.maskLayer = this.child('mask_layer', new DaLayer(width, numMasks));
  }
}

export function edamTinyGraph(width: number, numMasks: number): GraphDef {
  const module = new EdamTinyNet(width, numMasks).finalise();
  return {
    name: 'edam-tiny-golden',
    method: 'edam',
    module,
    inputs: [{ name: 'image', channels: 3, meaning: 'normalised float32 NCHW (the vector’s image_s*)' }],
    outputs: [{ name: 'masks', meaning: 'DA masks [N, K+1, h, w], stride 2' }],
    classNames: Array.from({ length: numMasks - 1 }, (_, i) => `class${i + 1}`),
    normalisation: null,
    inputConvention: 'normalised float32 NCHW (ImageNet mean/std)',
    outputStride: 2,
    inference(ops, inputs) {
      return { masks: module.maskLayer.forward(ops, module.trunk.conv.forward(ops, inputs.image)) };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const scales = v.params.scales as number[];
  const numMasks = v.inputs['mask_layer.weight'].shape[0];
  const graph = edamTinyGraph(v.inputs['trunk.conv.weight'].shape[0], numMasks);
  const values = paramsFromVector(v, {
    'trunk.conv.weight': 'trunk.conv.weight',
    'trunk.conv.bias': 'trunk.conv.bias',
    'mask_layer.weight': 'mask_layer.weight',
  });
  const images = inputsByNumber(v, 'image_s');
  const feeds = scales.map((s) => {
    const img = images.get(s);
    if (!img) throw new Error(`cam_multiscale_edam: no input image_s<${s}>`);
    const [c, h, w] = img.shape;
    return { image: withFlippedTwin(Float32Array.from(img.data), c, h, w) };
  });
  const outs = await forwardAll(graph, values, feeds, via);
  // CAMs are merged at the original image's size: the scale-1 input.
  const one = scales.indexOf(1);
  if (one < 0) throw new Error('cam_multiscale_edam: the scales must include 1');
  const [, c, h, w] = outs[one].masks.dims;
  const [plain, mirrored] = viewsOfOutput(outs[one].masks, 1);
  const [, H, W] = images.get(1)!.shape;
  const merged = mergeImageCams(
    scales.map((s, i) => ({ scale: s, rawCams: outs[i].masks })),
    H,
    W,
    { scales, flip: true, rule: 'sum', normEps: 0 },
  );
  const keys = Array.from(v.inputs.labels.data, (x, i) => (x > LABEL_CUT ? i : -1)).filter((i) => i >= 0);
  return {
    da_masks_s1: { shape: [c, h, w], data: plain.data },
    da_masks_s1_flipped_input: { shape: [c, h, w], data: mirrored.data },
    keys: { shape: [keys.length], data: keys },
    norm_cam: { shape: [keys.length, H, W], data: selectChannels(merged.cams, merged.classes, H * W, keys) },
  };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
