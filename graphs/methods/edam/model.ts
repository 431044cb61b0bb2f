// EDAM's network (Wu et al., CVPR'21; SPEC.md §3): a backbone's final features F → the DA layer
// (graphs/edam/da-layer.ts: K+1 masks, L2 across masks, absolute value) → training through CMA
// (./cma.ts: class-specific maps F·M_k of image pairs, per-class transformers and classifiers,
// BCE) or, without CMA, through per-class classifiers on GAP(F·M_k). Inference is the DA layer
// alone: its K class masks are the CAMs (the extra mask is never read, as in the official code).

import { TAP_FINAL, type Backbone } from '../../backbones/backbone.ts';
import { divideByPeak } from '../../cam-head.ts';
import { DaLayer } from '../../edam/da-layer.ts';
import { type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import { Rng } from '../../rng.ts';
import type { LabelRuleSpec, TrainBatch, TrainContext, TrainOutputs } from '../method.ts';
import { pairClassSlots } from './class-slots.ts';
import { CollaborativeMultiAttention, type CmaConfig } from './cma.ts';

export interface EdamConfig extends Omit<CmaConfig, 'inChannels' | 'numClasses'> {
  /** Classes per pair in CMA (official: all of them); 0 = all. */
  sampleNum: number;
}

export class EdamNet extends Module {
  readonly backbone: Backbone;
  readonly maskLayer: DaLayer;
  readonly cma: CollaborativeMultiAttention;
  constructor(backbone: Backbone, readonly numClasses: number, readonly config: EdamConfig) {
    super();
    this.backbone = this.child('backbone', backbone);
    const channels = backbone.tap(TAP_FINAL).channels;
    this.maskLayer = this.child('mask_layer', new DaLayer(channels, numClasses + 1));
    this.cma = this.child('cma', new CollaborativeMultiAttention({ ...config, inChannels: channels, numClasses }));
  }

  features(ops: Ops, image: Tensor): Tensor {
    return this.backbone.finalFeatures(ops, image);
  }

  /** The DA masks of the K classes, [N, K, h, w] (the CAMs before aggregation). */
  classMasks(ops: Ops, features: Tensor): Tensor {
    return ops.slice(this.maskLayer.forward(ops, features), [0], [this.numClasses], [1]);
  }

  /** Training forward: BCE of the CMA (or, without attention, the per-class GAP) scores. */
  training(ops: Ops, batch: TrainBatch, ctx: TrainContext): TrainOutputs {
    const features = this.features(ops, batch.image);
    const masks = this.maskLayer.forward(ops, features);
    const [n, , h, w] = ops.shape(features) as number[];
    const k = this.numClasses;
    if (!this.config.attention) return { losses: { cls: multilabelSoftMargin(ops, this.cma.daScores(ops, features, masks, h, w), batch.labels) } };
    if (n % 2) throw new Error(`EDAM's CMA trains on pairs: a batch of ${n} images is odd`);
    const y = batch.labelsData;
    const sampleNum = this.config.sampleNum > 0 ? this.config.sampleNum : k;
    const slots = Array.from({ length: n / 2 }, (_, p) =>
      pairClassSlots(y.subarray(2 * p * k, (2 * p + 1) * k), y.subarray((2 * p + 1) * k, (2 * p + 2) * k), sampleNum, new Rng((ctx.seed * 1_000_003 + ctx.step) * 977 + p)),
    );
    const { scores, entries } = this.cma.pairScores(ops, features, masks, slots, h, w);
    const targets = ops.constant(Float32Array.from(entries, (e) => y[e.image * k + e.cls]), [1, entries.length]);
    // BCE with logits averaged over every (pair, class, image) entry = the soft-margin loss of one row.
    return { losses: { cls: multilabelSoftMargin(ops, scores, targets) } };
  }
}

export function edamGraph(net: EdamNet, name: string, classNames: string[], labelRule: LabelRuleSpec): GraphDef {
  return {
    name,
    method: 'edam',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [
      { name: 'cams', meaning: 'DA class masks [N, C, H, W] at input size: bilinear (half-pixel) upsampling, each class divided by its max (no epsilon)' },
      { name: 'raw_cams', meaning: `DA class masks [N, C, h, w] at feature resolution (stride ${net.backbone.outputStride}): |L2-normalised over the C+1 masks|, for multi-scale aggregation (sum, /max)` },
    ],
    classNames,
    labelRule,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const raw = net.classMasks(ops, net.features(ops, inputs.image));
      return { cams: divideByPeak(ops, ops.resizeBilinear(raw, { like: inputs.image }, false), 0), raw_cams: raw };
    },
  };
}
