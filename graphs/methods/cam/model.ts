// The CAM baseline's network: a backbone's final features → global average pooling → a
// bias-free 1×1 classifier (scores); the same classifier at every position gives the class
// activation maps, CAM = ReLU(W·F) (graphs/cam-head.ts).

import { TAP_FINAL, type Backbone } from '../../backbones/backbone.ts';
import { CamHead } from '../../cam-head.ts';
import { type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import type { LabelRuleSpec, TrainBatch, TrainOutputs } from '../method.ts';

export class CamNet extends Module {
  readonly backbone: Backbone;
  readonly head: CamHead;
  constructor(backbone: Backbone, numClasses: number) {
    super();
    this.backbone = this.child('backbone', backbone);
    this.head = this.child('head', new CamHead(backbone.tap(TAP_FINAL).channels, numClasses));
  }

  features(ops: Ops, image: Tensor): Tensor {
    return this.backbone.finalFeatures(ops, image);
  }

  /** Training forward: the classification loss on image-level labels. */
  training(ops: Ops, batch: TrainBatch): TrainOutputs {
    const scores = this.head.scores(ops, this.features(ops, batch.image));
    return { losses: { cls: multilabelSoftMargin(ops, scores, batch.labels) } };
  }
}

/** The rule `wsss pseudo-label` applies to a CAM model's raw_cams (runtime/cam/multiscale-cams.ts). */
export const CAM_LABEL_RULE: LabelRuleSpec = { kind: 'multiscale-cam', merge: 'max-flip-sum', bg_threshold: 0.15 };

export function camGraph(net: CamNet, name: string, classNames: string[], labelRule: LabelRuleSpec = CAM_LABEL_RULE): GraphDef {
  return {
    name,
    method: 'cam',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [
      { name: 'scores', meaning: 'class logits [N, C] (multi-label; sigmoid for probabilities)' },
      { name: 'cams', meaning: 'CAMs [N, C, H, W] at input size: ReLU, bilinear (half-pixel) upsampling, each class divided by (max + 1e-5)' },
      {
        name: 'raw_cams',
        meaning: `CAMs [N, C, h, w] at feature resolution (stride ${net.backbone.outputStride}): ReLU(classifier(features)), unnormalised, for multi-scale aggregation`,
      },
    ],
    classNames,
    labelRule,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const image = inputs.image;
      const features = net.features(ops, image);
      const scores = net.head.scores(ops, features);
      const raw = net.head.rawCams(ops, features);
      return { scores, cams: net.head.normalisedCams(ops, raw, image), raw_cams: raw };
    },
  };
}
