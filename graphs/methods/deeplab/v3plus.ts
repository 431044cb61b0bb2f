// DeepLab-v3+'s head (Chen et al., ECCV 2018): DeepLabv3's ASPP (1×1, three dilated 3×3, image
// pooling) on the final features, upsampled to the backbone's stride-4 tap and concatenated with
// a 1×1 reduction of it (48 of 256 channels), then the decoder's two 3×3 convs and the classifier.
// The blocks are 1-Stage's (graphs/onestage/aspp.ts, last-conv.ts), which is built the same way.

import { ConvBnRelu } from '../../backbones/cam-tiny.ts';
import { Module } from '../../module.ts';
import { Aspp } from '../../onestage/aspp.ts';
import { LastConv } from '../../onestage/last-conv.ts';
import type { Ops, Tensor } from '../../ops.ts';

export class V3PlusHead extends Module {
  readonly aspp: Aspp;
  readonly skip: ConvBnRelu;
  readonly lastConv: LastConv;
  constructor(finalChannels: number, lowChannels: number, width: number, skipWidth: number, outChannels: number, rates: number[]) {
    super();
    this.aspp = this.child('aspp', new Aspp(finalChannels, width, rates));
    this.skip = this.child('fc8_skip', new ConvBnRelu(lowChannels, skipWidth, 1));
    this.lastConv = this.child('last_conv', new LastConv(width + skipWidth, width, outChannels));
  }
  forward(ops: Ops, final: Tensor, low: Tensor): Tensor {
    const deep = ops.resizeBilinear(this.aspp.forward(ops, final), { like: low }, true);
    return this.lastConv.forward(ops, ops.concat([deep, this.skip.forward(ops, low)], 1));
  }
}
