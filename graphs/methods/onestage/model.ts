// The 1-Stage segmentation network (Araslanov & Roth, CVPR'20; SPEC.md §1.1): ASPP on the
// backbone's final features, the stride-4 skip (→ 48 channels, scaled with the width), fc8_x →
// x_deep; Global Cue Injection and the Stochastic Gate mix x_deep with the shallow cues;
// last_conv → C−1 foreground logits at stride 4; masks and class scores as masks.ts.
// Training adds the mask loss: PAMR of the detached masks on the image (at mask resolution),
// the pseudo-GT of the refined masks and the class-balanced cross-entropy.

import { ConvBnRelu } from '../../backbones/cam-tiny.ts';
import { TAP_FINAL, TAP_LOW, type Backbone } from '../../backbones/backbone.ts';
import { IMAGENET_NORM, normaliseInput, type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { balancedCrossEntropy } from '../../losses/balanced-ce.ts';
import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import { Module } from '../../module.ts';
import { Aspp } from '../../onestage/aspp.ts';
import { GlobalCueInjection } from '../../onestage/gci.ts';
import { LastConv } from '../../onestage/last-conv.ts';
import { pamr } from '../../onestage/pamr.ts';
import { stochasticGate } from '../../onestage/stochastic-gate.ts';
import type { Ops, Tensor } from '../../ops.ts';
import type { LabelRuleSpec, TrainBatch, TrainOutputs } from '../method.ts';
import { keepLabelledClasses, labelledMaskArea, maskScores, type MaskScores } from './masks.ts';
import { pseudoGroundTruth } from './pseudo-gt.ts';

export interface OneStageConfig {
  /** Channels of ASPP, fc8_x, GCI and last_conv (256 in the paper). */
  width: number;
  /** Channels of the stride-4 skip (48 in the paper). */
  skipWidth: number;
  asppRates: number[];
  /** Global Cue Injection + Stochastic Gate (off: x_deep goes straight to last_conv). */
  sg: boolean;
  psi: number;
  pamrDilations: number[];
  pamrIterations: number;
}

export class OneStageNet extends Module {
  readonly backbone: Backbone;
  readonly aspp: Aspp;
  readonly skip: ConvBnRelu;
  readonly fc8x: ConvBnRelu;
  readonly gci: GlobalCueInjection | null;
  readonly lastConv: LastConv;
  constructor(
    backbone: Backbone,
    readonly numForeground: number,
    readonly config: OneStageConfig,
  ) {
    super();
    const low = backbone.tap(TAP_LOW).channels;
    this.backbone = this.child('backbone', backbone);
    this.aspp = this.child('aspp', new Aspp(backbone.tap(TAP_FINAL).channels, config.width, config.asppRates));
    this.skip = this.child('fc8_skip', new ConvBnRelu(low, config.skipWidth, 1));
    this.fc8x = this.child('fc8_x', new ConvBnRelu(config.width + config.skipWidth, config.width, 3));
    this.gci = config.sg ? this.child('gci', new GlobalCueInjection(low, config.width)) : null;
    this.lastConv = this.child('last_conv', new LastConv(config.width, config.width, numForeground));
  }

  /** Foreground logits [N, C−1, H/4, W/4] of a [0, 255] RGB image. */
  foregroundLogits(ops: Ops, image: Tensor): Tensor {
    const taps = this.backbone.taps(ops, normaliseInput(ops, image, IMAGENET_NORM), [TAP_LOW, TAP_FINAL]);
    const low = taps[TAP_LOW];
    const deep = ops.resizeBilinear(this.aspp.forward(ops, taps[TAP_FINAL]), { like: low }, true);
    const xDeep = this.fc8x.forward(ops, ops.concat([deep, this.skip.forward(ops, low)], 1));
    const x = this.gci ? stochasticGate(ops, xDeep, this.gci.forward(ops, low, xDeep), this.config.psi) : xDeep;
    return this.lastConv.forward(ops, x);
  }

  /** The mask loss of masks.ts's outputs: PAMR → pseudo-GT → balanced CE (SPEC.md §1.3–1.5). */
  maskLoss(ops: Ops, image: Tensor, out: MaskScores, labels: Tensor): Tensor {
    // PAMR on the de-normalised image ([0, 1]) at the masks' resolution, masks detached.
    const small = ops.resizeBilinear(ops.mul(image, 1 / 255), { like: out.masks }, true);
    const refined = pamr(ops, small, ops.stopGradient(out.masks), { dilations: this.config.pamrDilations, iterations: this.config.pamrIterations });
    const clean = keepLabelledClasses(ops, ops.resizeBilinear(refined, { like: image }, true), labels);
    const pseudoGt = ops.stopGradient(pseudoGroundTruth(ops, clean, this.numForeground + 1));
    return balancedCrossEntropy(ops, out.logits, pseudoGt, labels);
  }

  /** Training forward: 'cls' always, 'mask' when the stage trains it (PAMR is skipped in the warm-up). */
  training(ops: Ops, batch: TrainBatch, withMaskLoss: boolean): TrainOutputs {
    const out = maskScores(ops, this.foregroundLogits(ops, batch.image));
    const losses: Record<string, Tensor> = { cls: multilabelSoftMargin(ops, out.scores, batch.labels) };
    if (withMaskLoss) losses.mask = this.maskLoss(ops, batch.image, out, batch.labels);
    return { losses, logs: { cls_fg: ops.reduceMean(labelledMaskArea(ops, out.masks, batch.labels), [0]) } };
  }
}

/** 1-Stage's multi-scale rule (SPEC.md §1.9; runtime/cam/onestage-merge.ts): mean of the views' masks, labels gated, background^3. */
export const ONESTAGE_LABEL_RULE: LabelRuleSpec = { kind: 'onestage-masks', bg_pow: 3, fp_cut_score: 0.1 };

export function oneStageGraph(net: OneStageNet, name: string, classNames: string[]): GraphDef {
  return {
    name,
    method: 'onestage',
    module: net,
    ...rgbImageModelFields(4),
    outputs: [
      { name: 'scores', meaning: 'class scores [N, C] (nGWP + focal mask-size penalty; sigmoid for probabilities)' },
      { name: 'masks', meaning: 'softmax masks [N, 1 + C, H, W] at input size (channel 0 = background; bilinear, align_corners=True)' },
    ],
    classNames,
    labelRule: ONESTAGE_LABEL_RULE,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const out = maskScores(ops, net.foregroundLogits(ops, inputs.image));
      return { scores: out.scores, masks: ops.resizeBilinear(out.masks, { like: inputs.image }, true) };
    },
  };
}
