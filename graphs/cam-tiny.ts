// `cam-tiny`: a small CAM classifier used by tests, `--random-init` exports and the synthetic
// benchmark. Its trunk is the benchmark's reference network (../shared/BENCHMARK.md): 3×3 convs
// 16 → 32/s2 → 32 → 64/s2 → 64, a 1×1 conv to 64, each with BN + ReLU — receptive field 21 px,
// output stride 4, small enough that plain CAM covers an object's head but not its body.

import { CamHead } from './cam-head.ts';
import type { GraphDef } from './graph.ts';
import { normaliseInput } from './graph.ts';
import { BatchNorm2d, Conv2d } from './layers.ts';
import { Module } from './module.ts';
import type { Ops, Tensor } from './ops.ts';

/** Conv (bias-free) + BN + ReLU, named like torchvision's Conv2dNormActivation ("0", "1"). */
export class ConvBnRelu extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, kernel: number, stride = 1) {
    super();
    this.conv = this.child('conv', new Conv2d(cin, cout, kernel, { stride, padding: (kernel - 1) >> 1, bias: false, weightInit: { kind: 'kaiming-normal', mode: 'fan_out' } }));
    this.bn = this.child('bn', new BatchNorm2d(cout));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.bn.forward(ops, this.conv.forward(ops, x)));
  }
}

export class TinyTrunk extends Module {
  readonly layers: ConvBnRelu[];
  readonly outChannels: number;
  constructor(width = 1) {
    super();
    const w = (c: number) => Math.max(4, Math.round(c * width));
    const spec: [number, number, number][] = [
      // [out, kernel, stride]
      [w(16), 3, 1],
      [w(32), 3, 2],
      [w(32), 3, 1],
      [w(64), 3, 2],
      [w(64), 3, 1],
      [w(64), 1, 1],
    ];
    let cin = 3;
    this.layers = spec.map(([cout, k, s], i) => {
      const m = this.child(i, new ConvBnRelu(cin, cout, k, s));
      cin = cout;
      return m;
    });
    this.outChannels = cin;
  }
  forward(ops: Ops, x: Tensor): Tensor {
    for (const l of this.layers) x = l.forward(ops, x);
    return x;
  }
}

export class CamTiny extends Module {
  readonly trunk: TinyTrunk;
  readonly head: CamHead;
  constructor(numClasses: number, width = 1) {
    super();
    this.trunk = this.child('trunk', new TinyTrunk(width));
    this.head = this.child('head', new CamHead(this.trunk.outChannels, numClasses));
  }
}

export const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export function camTinyGraph(opts: { classNames: string[]; width?: number }): GraphDef {
  const module = new CamTiny(opts.classNames.length, opts.width ?? 1).finalise();
  const norm = IMAGENET_NORM;
  return {
    name: 'cam-tiny',
    method: 'cam',
    module,
    inputs: [{ name: 'image', channels: 3, meaning: 'RGB float32 NCHW in [0,255]' }],
    outputs: [
      { name: 'scores', meaning: 'class logits [N, C] (multi-label; sigmoid for probabilities)' },
      { name: 'cams', meaning: 'CAMs [N, C, H, W] at input size: ReLU, bilinear (half-pixel) upsampling, each class divided by (max + 1e-5)' },
      { name: 'raw_cams', meaning: 'CAMs [N, C, h, w] at feature resolution (stride 4): ReLU(classifier(features)), unnormalised, for multi-scale aggregation' },
    ],
    classNames: opts.classNames,
    normalisation: norm,
    inputConvention: 'RGB float32 NCHW in [0,255]',
    outputStride: 4,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const image = inputs.image;
      const features = module.trunk.forward(ops, normaliseInput(ops, image, norm));
      const scores = module.head.scores(ops, features);
      const raw = module.head.rawCams(ops, features);
      return { scores, cams: module.head.normalisedCams(ops, raw, image), raw_cams: raw };
    },
    training(ops: Ops, inputs: Record<string, Tensor>) {
      const features = module.trunk.forward(ops, normaliseInput(ops, inputs.image, norm));
      return { scores: module.head.scores(ops, features) };
    },
  };
}
