// The DeepLab segmentation network trained on pseudo-labels (the second stage of every seed
// paper): a backbone, one of three heads (LargeFOV, DeepLab-v2 ASPP, v3+) giving 1 + C logits
// (background first) at the feature stride, optionally run on multi-scale inputs with max
// fusion, and the exported 'logits' at the input size. The runtime labels them by argmax
// (label rule 'argmax'): no image-level labels at inference.

import { TAP_FINAL, TAP_LOW, type Backbone } from '../../backbones/backbone.ts';
import { IMAGENET_NORM, normaliseInput, type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { crossEntropyIgnore } from '../../losses/cross-entropy-ignore.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import type { LabelRuleSpec, TrainBatch, TrainOutputs } from '../method.ts';
import { AsppV2 } from './aspp-v2.ts';
import { LargeFovHead } from './largefov.ts';
import { MULTI_SCALE_INPUTS, multiScaleLogits } from './multi-scale-inputs.ts';
import { V3PlusHead } from './v3plus.ts';

export const DEEPLAB_VARIANTS = ['largefov', 'aspp', 'v3plus'] as const;
export type DeepLabVariant = (typeof DEEPLAB_VARIANTS)[number];

export interface DeepLabConfig {
  variant: DeepLabVariant;
  /** Dilation rates: LargeFOV's fc6 (one), ASPP-v2's four branches, v3+'s three. */
  rates: number[];
  /** Channels of LargeFOV's fc6/fc7 and of v3+'s ASPP and decoder (unused by ASPP-v2). */
  width: number;
  /** v3+: channels of the stride-4 skip. */
  skipWidth: number;
  /** LargeFOV: the backbone ends in fc6/fc7 (vgg16d), the head is fc8 only. */
  backboneHasFc7: boolean;
  multiScaleInputs: boolean;
}

/** Loss-term names: one per input scale and the fused logits with multi-scale inputs, else 'seg'. */
export function deepLabLossNames(multiScaleInputs: boolean): string[] {
  return multiScaleInputs ? [...MULTI_SCALE_INPUTS.map((s) => `seg_${Math.round(s * 100)}`), 'seg_fused'] : ['seg'];
}

export class DeepLabNet extends Module {
  readonly backbone: Backbone;
  readonly head: LargeFovHead | AsppV2 | V3PlusHead;
  constructor(
    backbone: Backbone,
    readonly numForeground: number,
    readonly config: DeepLabConfig,
  ) {
    super();
    this.backbone = this.child('backbone', backbone);
    const finalC = backbone.tap(TAP_FINAL).channels;
    const out = numForeground + 1;
    if (config.variant === 'largefov') {
      if (config.rates.length !== 1) throw new Error(`deeplab largefov: one fc6 rate expected, got [${config.rates.join(', ')}]`);
      this.head = this.child('head', new LargeFovHead(finalC, config.width, out, config.backboneHasFc7 ? null : config.rates[0]));
    } else if (config.variant === 'aspp') this.head = this.child('head', new AsppV2(finalC, out, config.rates));
    else this.head = this.child('head', new V3PlusHead(finalC, backbone.tap(TAP_LOW).channels, config.width, config.skipWidth, out, config.rates));
  }

  /** Logits [N, 1 + C, h, w] at the head's resolution of a [0, 255] RGB image, one scale. */
  logitsAtScale(ops: Ops, image: Tensor): Tensor {
    if (this.head instanceof V3PlusHead) {
      const taps = this.backbone.taps(ops, normaliseInput(ops, image, IMAGENET_NORM), [TAP_LOW, TAP_FINAL]);
      return this.head.forward(ops, taps[TAP_FINAL], taps[TAP_LOW]);
    }
    return this.head.forward(ops, this.backbone.finalFeatures(ops, image));
  }

  /** The logits the network answers with (fused over scales with multi-scale inputs), at the head's resolution. */
  logits(ops: Ops, image: Tensor): Tensor {
    return this.config.multiScaleInputs ? multiScaleLogits(ops, image, (x) => this.logitsAtScale(ops, x)).fused : this.logitsAtScale(ops, image);
  }

  /** Training forward: cross-entropy (255 ignored) of each scale's logits and the fused ones, or of the single scale. */
  training(ops: Ops, batch: TrainBatch): TrainOutputs {
    const targets = batch.pixelTargets;
    if (!targets) throw new Error('deeplab trains on per-pixel labels: give `wsss train --labels DIR` (a `wsss pseudo-label` output)');
    const names = deepLabLossNames(this.config.multiScaleInputs);
    const logits = this.config.multiScaleInputs
      ? (({ perScale, fused }) => [...perScale, fused])(multiScaleLogits(ops, batch.image, (x) => this.logitsAtScale(ops, x)))
      : [this.logitsAtScale(ops, batch.image)];
    const losses: Record<string, Tensor> = {};
    names.forEach((n, i) => (losses[n] = crossEntropyIgnore(ops, logits[i], targets)));
    return { losses };
  }
}

/** Labels are the argmax over background + classes of 'logits' (runtime/postprocess.ts). */
export const DEEPLAB_LABEL_RULE: LabelRuleSpec = { kind: 'argmax', output: 'logits' };

export function deepLabGraph(net: DeepLabNet, name: string, classNames: string[]): GraphDef {
  const msi = net.config.multiScaleInputs ? `max-fused over input scales ${MULTI_SCALE_INPUTS.join(', ')}, ` : '';
  return {
    name,
    method: 'deeplab',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [{ name: 'logits', meaning: `segmentation logits [N, 1 + C, H, W] at input size (channel 0 = background; ${msi}bilinear, half-pixel); labels = argmax` }],
    classNames,
    labelRule: DEEPLAB_LABEL_RULE,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      return { logits: ops.resizeBilinear(net.logits(ops, inputs.image), { like: inputs.image }, false) };
    },
  };
}
