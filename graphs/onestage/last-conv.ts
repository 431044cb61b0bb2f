// The decoder's classifier of DeepLabv3+ as 1-stage-wseg (and the common PyTorch DeepLabv3+)
// write it: 3×3 conv-BN-ReLU, Dropout 0.5, 3×3 conv-BN-ReLU, Dropout 0.1, 1×1 conv with bias.
// 1-Stage puts it after fc8_x and the Stochastic Gate; DeepLab v3+ (graphs/methods/deeplab)
// straight after the concatenated ASPP output and stride-4 skip.

import { ConvBnRelu } from '../backbones/cam-tiny.ts';
import { Conv2d } from '../layers.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';

export class LastConv extends Module {
  readonly conv1: ConvBnRelu;
  readonly conv2: ConvBnRelu;
  readonly classifier: Conv2d;
  constructor(inChannels: number, width: number, outChannels: number) {
    super();
    this.conv1 = this.child(0, new ConvBnRelu(inChannels, width, 3));
    this.conv2 = this.child(2, new ConvBnRelu(width, width, 3));
    this.classifier = this.child(4, new Conv2d(width, outChannels, 1, { weightInit: { kind: 'kaiming-normal', mode: 'fan_out' } }));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    const y = ops.dropout(this.conv2.forward(ops, ops.dropout(this.conv1.forward(ops, x), 0.5)), 0.1);
    return this.classifier.forward(ops, y);
  }
}
