// Atrous spatial pyramid pooling (DeepLabv3, as 1-stage-wseg's models/mods/aspp.py): a 1×1 conv,
// three dilated 3×3 convs and image pooling (global average → 1×1 conv, spread back over the
// map), each conv + BN + ReLU, concatenated and fused by a 1×1 conv + BN + ReLU + Dropout 0.5.

import { ConvBnRelu } from '../backbones/cam-tiny.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';

export class Aspp extends Module {
  readonly branches: ConvBnRelu[];
  readonly pool: ConvBnRelu;
  readonly project: ConvBnRelu;
  constructor(
    inChannels: number,
    readonly channels: number,
    readonly rates: number[],
  ) {
    super();
    if (rates.length !== 3 || rates.some((r) => !Number.isInteger(r) || r < 1)) throw new Error(`ASPP: three positive integer rates expected, got [${rates.join(', ')}]`);
    this.branches = [1, ...rates].map((r, i) => this.child(`aspp${i + 1}`, new ConvBnRelu(inChannels, channels, r === 1 && i === 0 ? 1 : 3, 1, r)));
    this.pool = this.child('global_avg_pool', new ConvBnRelu(inChannels, channels, 1));
    this.project = this.child('conv1', new ConvBnRelu(5 * channels, channels, 1));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    const pooled = ops.resizeBilinear(this.pool.forward(ops, ops.globalAvgPool(x)), { like: x }, true);
    const y = ops.concat([...this.branches.map((b) => b.forward(ops, x)), pooled], 1);
    return ops.dropout(this.project.forward(ops, y), 0.5);
  }
}

/**
 * Dilation rates for a backbone, from the rates a paper gives at output stride 8 (DeepLab-v2's
 * ASPP 6, 12, 18, 24 and LargeFOV's 12; DeepLabv3's 12, 24, 36; 1-Stage's). ResNets and other
 * ImageNet backbones scale them by 8 / output stride (halved at 16). cam-tiny (stride 4, 16×16
 * maps of the synthetic set's 64 px crops) takes them as fractions of the papers' 41×41 maps
 * (321 px / 8): r · 16 / 41 (12, 24, 36 → 5, 9, 14).
 */
export function atrousRates(ratesAtStride8: readonly number[], backbone: string, outputStride: number): number[] {
  if (backbone.startsWith('cam-tiny')) return ratesAtStride8.map((r) => Math.max(1, Math.round((r * 16) / 41)));
  return ratesAtStride8.map((r) => Math.max(1, Math.round((r * 8) / outputStride)));
}
