// MobileNetV2 as torchvision builds it (width multiplier, channel counts rounded to multiples
// of 8, ReLU6, inverted residuals), for edge deployment. Parameter names are torchvision's:
// features.0.{0,1}, features.N.conv.…, features.18.{0,1}, classifier.1.

import { BatchNorm2d, Conv2d, Linear } from '../layers.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';
import { Backbone, freezeBatchNormParams, poolToVector, relu6, Sequential, type StageInfo, type StageSink } from './backbone.ts';

export interface MobileNetV2Options {
  /** torchvision's width_mult (1 = the ImageNet model). */
  width?: number;
  /** Classifier classes (torchvision: 1000); 0 = features only. */
  numClasses?: number;
  frozenBn?: boolean;
}

/** torchvision's _make_divisible: round to a multiple of 8, never more than 10 % below. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** (expansion t, output channels c, repeats n, first stride s) of torchvision's table. */
const SETTINGS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

const CONV_INIT = { kind: 'kaiming-normal', mode: 'fan_out' } as const;

/** Conv2dNormActivation: conv (no bias) '0', BN '1', ReLU6; padding (k-1)/2. */
class ConvBnReLU6 extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number, kernel: number, stride: number, groups: number, frozenBn: boolean) {
    super();
    this.conv = this.child(0, new Conv2d(inC, outC, kernel, { stride, padding: (kernel - 1) / 2, groups, bias: false, weightInit: CONV_INIT }));
    this.bn = this.child(1, new BatchNorm2d(outC, { frozen: frozenBn }));
    if (frozenBn) freezeBatchNormParams(this.bn);
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return relu6(ops, this.bn.forward(ops, this.conv.forward(ops, x)));
  }
}

/** The inverted residual: [1×1 expand], 3×3 depthwise (stride), 1×1 linear projection, [+ x]. */
class InvertedResidual extends Module {
  readonly expand: ConvBnReLU6 | null;
  readonly depthwise: ConvBnReLU6;
  readonly project: Conv2d;
  readonly projectBn: BatchNorm2d;
  readonly residual: boolean;
  constructor(inC: number, outC: number, stride: number, expandRatio: number, frozenBn: boolean) {
    super();
    const hidden = Math.round(inC * expandRatio);
    this.residual = stride === 1 && inC === outC;
    // torchvision keeps the layers in one nn.Sequential called 'conv'.
    const conv = this.child('conv', new Sequential());
    let i = 0;
    this.expand = expandRatio !== 1 ? conv.add(i++, new ConvBnReLU6(inC, hidden, 1, 1, 1, frozenBn)) : null;
    this.depthwise = conv.add(i++, new ConvBnReLU6(hidden, hidden, 3, stride, hidden, frozenBn));
    this.project = conv.add(i++, new Conv2d(hidden, outC, 1, { bias: false, weightInit: CONV_INIT }));
    this.projectBn = conv.add(i++, new BatchNorm2d(outC, { frozen: frozenBn }));
    if (frozenBn) freezeBatchNormParams(this.projectBn);
  }
  forward(ops: Ops, x: Tensor): Tensor {
    let h = this.expand ? this.expand.forward(ops, x) : x;
    h = this.depthwise.forward(ops, h);
    h = this.projectBn.forward(ops, this.project.forward(ops, h));
    return this.residual ? ops.add(x, h) : h;
  }
}

/** features index after which each stride-2^k stage ends (torchvision indices). */
const STAGE_ENDS: Record<number, string> = { 3: 'layer1', 6: 'layer2', 13: 'layer3', 17: 'layer4' };

export class MobileNetV2 extends Backbone {
  readonly arch = 'mobilenet_v2';
  readonly outputStride = 32;
  readonly stages: StageInfo[] = [];
  /** features.0 … features.18 in order. */
  readonly features: Module[] = [];
  readonly classifier: Linear | null;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const w = options.width ?? 1;
    const frozenBn = options.frozenBn ?? false;
    const numClasses = options.numClasses ?? 1000;
    const seq = this.child('features', new Sequential());
    let inC = makeDivisible(32 * w);
    const lastC = makeDivisible(1280 * Math.max(1, w));
    this.features.push(seq.add(0, new ConvBnReLU6(3, inC, 3, 2, 1, frozenBn)));
    let stride = 2;
    for (const [t, c, n, s] of SETTINGS) {
      const outC = makeDivisible(c * w);
      for (let i = 0; i < n; i++) {
        const blockStride = i === 0 ? s : 1;
        this.features.push(seq.add(this.features.length, new InvertedResidual(inC, outC, blockStride, t, frozenBn)));
        stride *= blockStride;
        inC = outC;
        const stageName = STAGE_ENDS[this.features.length - 1];
        if (stageName)
          this.stages.push({ name: stageName, channels: outC, stride, meaning: `output of features.${this.features.length - 1}, stride ${stride}` });
      }
    }
    this.features.push(seq.add(this.features.length, new ConvBnReLU6(inC, lastC, 1, 1, 1, frozenBn)));
    this.stages.push({ name: 'features', channels: lastC, stride: 32, meaning: 'model.features(x): the 1×1 conv-BN-ReLU6 head, stride 32' });
    this.stages.push({ name: 'pool', channels: lastC, stride: 0, meaning: 'global average of features, [N, C]' });
    if (numClasses > 0) {
      // classifier = Sequential(Dropout(0.2), Linear): the Linear is 'classifier.1'.
      const cls = this.child('classifier', new Sequential());
      this.classifier = cls.add(1, new Linear(lastC, numClasses, { weightInit: { kind: 'normal', std: 0.01 } }));
      this.stages.push({ name: 'logits', channels: numClasses, stride: 0, meaning: 'classifier logits, [N, classes]' });
    } else this.classifier = null;
  }

  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    for (let i = 0; i < this.features.length; i++) {
      const f = this.features[i] as ConvBnReLU6 | InvertedResidual;
      x = ops.scope(f.path, () => f.forward(ops, x));
      const stageName = i === this.features.length - 1 ? 'features' : STAGE_ENDS[i];
      if (stageName && sink.emit(stageName, x)) return;
    }
    const pooled = poolToVector(ops, x);
    if (sink.emit('pool', pooled)) return;
    if (this.classifier) sink.emit('logits', this.classifier.forward(ops, ops.dropout(pooled, 0.2)));
  }
}
