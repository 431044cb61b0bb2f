// `cam-tiny`: the synthetic benchmark's reference network (../shared/BENCHMARK.md) as a backbone:
// 3×3 convs 16 → 32/s2 → 32 → 64/s2 → 64, a 1×1 conv to 64, each with BN + ReLU — receptive field
// 21 px, output stride 4, small enough that plain CAM covers an object's head but not its body.
// Taps: conv1 … conv6 (conv4, the first stride-4 output, is its low-level 'low' tap).

import { BatchNorm2d, Conv2d } from '../layers.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';
import { Backbone, type StageInfo, type StageSink } from './backbone.ts';

/** Conv (bias-free) + BN + ReLU. */
export class ConvBnRelu extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number, kernel: number, stride = 1, dilation = 1) {
    super();
    const padding = (dilation * (kernel - 1)) >> 1;
    this.conv = this.child('conv', new Conv2d(cin, cout, kernel, { stride, padding, ...(dilation > 1 ? { dilation } : {}), bias: false, weightInit: { kind: 'kaiming-normal', mode: 'fan_out' } }));
    this.bn = this.child('bn', new BatchNorm2d(cout));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.preActivation(ops, x));
  }
  /** BN(conv(x)) before the ReLU: signed. */
  preActivation(ops: Ops, x: Tensor): Tensor {
    return this.bn.forward(ops, this.conv.forward(ops, x));
  }
}

/** [out channels, kernel, stride] of the six layers at width 1. */
const LAYERS: [number, number, number][] = [
  [16, 3, 1],
  [32, 3, 2],
  [32, 3, 1],
  [64, 3, 2],
  [64, 3, 1],
  [64, 1, 1],
];

export class CamTinyBackbone extends Backbone {
  readonly arch = 'cam-tiny';
  readonly outputStride = 4;
  readonly stages: StageInfo[] = [];
  readonly layers: ConvBnRelu[];
  /**
   * @param width channel multiplier (at least 4 channels per layer)
   * @param finalRelu ReLU after conv6's BN (default); false: conv6 ends at its BN, so the final
   *                  features are signed (what EDAM's DA layer reads, as on ResNet-38's bn7)
   */
  constructor(width = 1, readonly finalRelu = true) {
    super();
    let cin = 3;
    let stride = 1;
    this.layers = LAYERS.map(([c, k, s], i) => {
      const cout = Math.max(4, Math.round(c * width));
      const m = this.child(i, new ConvBnRelu(cin, cout, k, s));
      stride *= s;
      const last = i === LAYERS.length - 1;
      const meaning = last && !finalRelu ? `conv-BN ${i + 1} of 6 without its ReLU (signed), stride ${stride}` : `conv-BN-ReLU ${i + 1} of 6, stride ${stride}`;
      this.stages.push({ name: `conv${i + 1}`, channels: cout, stride, meaning });
      cin = cout;
      return m;
    });
  }
  override get lowLevelStage(): StageInfo {
    return this.stage('conv4');
  }
  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    for (const [i, l] of this.layers.entries()) {
      x = i === this.layers.length - 1 && !this.finalRelu ? l.preActivation(ops, x) : l.forward(ops, x);
      if (sink.emit(`conv${i + 1}`, x)) return;
    }
  }
}
