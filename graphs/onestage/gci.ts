// Global Cue Injection (1-stage-wseg models/mods/gci.py, SPEC.md §1.6): the deep features'
// global maximum of a 1×1 conv + BN + ReLU gives a per-channel scale γ and shift β (AdaIN-style)
// for the shallow features, normalised by a BN without affine parameters; then 1×1 conv + BN + ReLU.

import { ConvBnRelu } from '../backbones/cam-tiny.ts';
import { freezeBatchNormParams } from '../backbones/backbone.ts';
import { BatchNorm2d, Conv2d } from '../layers.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';

/** Conv (bias-free) + BN with frozen weight 1 / bias 0: PyTorch's BatchNorm2d(affine=False). */
class ConvBnNoAffine extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cin: number, cout: number) {
    super();
    this.conv = this.child('conv', new Conv2d(cin, cout, 1, { bias: false, weightInit: { kind: 'kaiming-normal', mode: 'fan_out' } }));
    this.bn = this.child('bn', new BatchNorm2d(cout));
    freezeBatchNormParams(this.bn);
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return this.bn.forward(ops, this.conv.forward(ops, x));
  }
}

export class GlobalCueInjection extends Module {
  readonly fcDeep: ConvBnRelu;
  readonly fcSkip: ConvBnNoAffine;
  readonly fcCls: ConvBnRelu;
  constructor(
    shallowChannels: number,
    readonly channels: number,
  ) {
    super();
    this.fcDeep = this.child('fc_deep', new ConvBnRelu(channels, 2 * channels, 1));
    this.fcSkip = this.child('fc_skip', new ConvBnNoAffine(shallowChannels, channels));
    this.fcCls = this.child('fc_cls', new ConvBnRelu(channels, channels, 1));
  }
  /** shallow [N, Cs, h, w], deep [N, channels, h, w] → [N, channels, h, w]. */
  forward(ops: Ops, shallow: Tensor, deep: Tensor): Tensor {
    const attrs = ops.globalMaxPool(this.fcDeep.forward(ops, deep)); // [N, 2c, 1, 1]
    const [gamma, beta] = ops.split(attrs, [this.channels, this.channels], 1);
    const h = ops.relu(ops.add(ops.mul(this.fcSkip.forward(ops, shallow), ops.add(gamma, 1)), beta));
    return this.fcCls.forward(ops, h);
  }
}
