// DeepLab-LargeFOV's head (Chen et al., ICLR 2015): fc6 a 3×3 conv with dilation 12 (at output
// stride 8), fc7 a 1×1 conv, each ReLU + Dropout 0.5, fc8 the 1×1 classifier (N(0, 0.01)).
// On vgg16d, LargeFOV's own backbone, fc6 and fc7 are the backbone's (ImageNet fc layers, fc6
// built with dilation 12 by the method), so the head is Dropout + fc8 only; on any other backbone
// fc6 and fc7 are new layers of `width` channels.

import { Conv2d } from '../../layers.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';

export class LargeFovHead extends Module {
  readonly fc6: Conv2d | null;
  readonly fc7: Conv2d | null;
  readonly fc8: Conv2d;
  /** @param rate fc6 dilation, or null when the backbone brings fc6 and fc7 (vgg16d) */
  constructor(inChannels: number, width: number, outChannels: number, readonly rate: number | null) {
    super();
    if (rate !== null && !(Number.isInteger(rate) && rate >= 1)) throw new Error(`LargeFOV: the fc6 rate must be a positive integer, got ${rate}`);
    this.fc6 = rate === null ? null : this.child('fc6', new Conv2d(inChannels, width, 3, { padding: rate, dilation: rate }));
    this.fc7 = rate === null ? null : this.child('fc7', new Conv2d(width, width, 1));
    this.fc8 = this.child('fc8', new Conv2d(rate === null ? inChannels : width, outChannels, 1, { weightInit: { kind: 'normal', std: 0.01 }, biasInit: { kind: 'zeros' } }));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    let h = x;
    if (this.fc6 && this.fc7) h = ops.relu(this.fc7.forward(ops, ops.dropout(ops.relu(this.fc6.forward(ops, h)), 0.5)));
    return this.fc8.forward(ops, ops.dropout(h, 0.5));
  }
}
