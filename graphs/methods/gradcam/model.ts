// Grad-CAM (Selvaraju et al.) as Xu et al. use it (seed 004, §2.1.1): a classifier with a
// non-linear fully connected head, and class maps from the gradients of each class score with
// respect to a feature tap A:
//
//   α_k^c = (1/N) Σ_ij ∂y^c/∂A^k_ij        A^c = ReLU(Σ_k α_k^c A^k)
//
// The head is GAP → [Linear → ReLU → Dropout] × L → Linear (C outputs). Its backward pass is
// written here with `Ops` — linear layers as products with their weights, ReLU as 0/1 masks of
// the pre-activations, dropout off at inference, global average pooling spreading each gradient
// evenly — so the exported ONNX graph computes the maps of every class in one session.run, on
// any execution provider, the browser included. The tfjs autodiff of the same head
// (train/gradcam-autodiff.ts) is the reference the tests hold this against.

import { TAP_FINAL, type Backbone } from '../../backbones/backbone.ts';
import { divideByPeak, CAM_NORM_EPS } from '../../cam-head.ts';
import { type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { Linear } from '../../layers.ts';
import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import type { LabelRuleSpec, TrainBatch, TrainOutputs } from '../method.ts';

/**
 * 1[z > 0] from `Ops` (which has no comparison op): clip(z·1e30, 0, 1). Exact for every
 * |z| ≥ 1e-30 (z·1e30 ≥ 1, or overflows to ±Inf which the clip maps to 1 or 0); a pre-activation
 * closer to zero than that contributes nothing measurable to either the scores or the maps.
 */
export function reluMask(ops: Ops, z: Tensor): Tensor {
  return ops.minimum(ops.maximum(ops.mul(z, 1e30), 0), 1);
}

export class GradCamHead extends Module {
  readonly hidden: Linear[] = [];
  readonly out: Linear;
  /**
   * @param inChannels  channels of the feature tap
   * @param widths      hidden layer widths (fc6, fc7 in the paper's VGG-16); at least one, or
   *                    Grad-CAM is CAM up to a constant
   * @param dropout     dropout after each hidden ReLU in training
   */
  constructor(
    readonly inChannels: number,
    readonly widths: number[],
    readonly numClasses: number,
    readonly dropout: number,
  ) {
    super();
    let inF = inChannels;
    widths.forEach((w, i) => {
      this.hidden.push(this.child(`fc${i + 1}`, new Linear(inF, w)));
      inF = w;
    });
    this.out = this.child('classifier', new Linear(inF, numClasses, { weightInit: { kind: 'xavier-uniform' } }));
  }

  /** Global average pooling: [N, F, h, w] → [N, F]. */
  pooled(ops: Ops, features: Tensor): Tensor {
    return ops.reshape(ops.globalAvgPool(features), [0, -1]);
  }

  /** Class scores y [N, C] (logits) from the tap's features. */
  scores(ops: Ops, features: Tensor): Tensor {
    let h = this.pooled(ops, features);
    for (const fc of this.hidden) h = ops.dropout(ops.relu(fc.forward(ops, h)), this.dropout);
    return this.out.forward(ops, h);
  }

  /**
   * α for every class at once, [N, C, F]: Σ_ij ∂y^c/∂A^k_ij, the backward pass of the head
   * (inference mode: dropout is the identity). Global average pooling hands each of the h·w
   * positions 1/(h·w) of the pooled gradient, so the spatial sum is the pooled gradient itself;
   * the paper's α (the spatial mean) is this divided by h·w.
   */
  alphas(ops: Ops, features: Tensor): Tensor {
    // Forward, keeping each hidden layer's ReLU mask.
    let h = this.pooled(ops, features);
    const masks: Tensor[] = [];
    for (const fc of this.hidden) {
      const z = fc.forward(ops, h);
      masks.push(ops.reshape(reluMask(ops, z), [-1, 1, fc.outFeatures]));
      h = ops.relu(z);
    }
    // Backward from every class score at once: row c of the running [N, C, width] matrix is
    // ∂y^c/∂(the layer's input). It starts as the output layer's weight [C, width].
    let g = ops.param(this.out.weight);
    for (let l = this.hidden.length - 1; l >= 0; l--) {
      g = ops.mul(g, masks[l]); // through the ReLU: [N, C, width_l]
      g = ops.matmul(g, ops.param(this.hidden[l].weight)); // through the linear layer: [N, C, width_{l-1}]
    }
    return g;
  }

  /**
   * Grad-CAM maps at the tap's resolution, [N, C, h, w]: ReLU(Σ_k α_k^c A^k) with α the
   * spatial SUM of the gradients (alphas()): h·w times the paper's maps, a per-image constant
   * that max-normalisation removes, and with it the maps of a linear head equal its CAM, so
   * multi-scale merging (runtime/cam) treats them as it treats CAMs.
   */
  rawMaps(ops: Ops, features: Tensor): Tensor {
    // One class at a time: α^c [N, F, 1, 1] times A, summed over F. (A single batched matmul
    // [N, 1, C, F] × [N, h, F, w] would need batch broadcasting that tfjs's CPU kernel gets wrong.)
    const alphas = this.alphas(ops, features); // [N, C, F] (or [C, F] for a head without hidden layers)
    const rank = ops.shape(alphas).length;
    const maps: Tensor[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      const a = ops.reshape(ops.slice(alphas, [c], [c + 1], [rank - 2]), [-1, this.inChannels, 1, 1]);
      maps.push(ops.reduceSum(ops.mul(features, a), [1], true));
    }
    return ops.relu(maps.length === 1 ? maps[0] : ops.concat(maps, 1));
  }
}

export class GradCamNet extends Module {
  readonly backbone: Backbone;
  readonly head: GradCamHead;
  constructor(backbone: Backbone, numClasses: number, widths: number[], dropout: number) {
    super();
    this.backbone = this.child('backbone', backbone);
    this.head = this.child('head', new GradCamHead(backbone.tap(TAP_FINAL).channels, widths, numClasses, dropout));
  }

  /** The tap Grad-CAM differentiates against: the backbone's final feature map. */
  features(ops: Ops, image: Tensor): Tensor {
    return this.backbone.finalFeatures(ops, image);
  }

  training(ops: Ops, batch: TrainBatch): TrainOutputs {
    const scores = this.head.scores(ops, this.features(ops, batch.image));
    return { losses: { cls: multilabelSoftMargin(ops, scores, batch.labels) } };
  }
}

/**
 * Grad-CAM maps merge and label like CAMs (runtime/cam): multi-scale + flip, max-normalised,
 * background below the threshold; `wsss pseudo-label --fuse-saliency` applies Algorithm 1 instead.
 */
export const GRADCAM_LABEL_RULE: LabelRuleSpec = { kind: 'multiscale-cam', merge: 'max-flip-sum', bg_threshold: 0.15 };

export function gradCamGraph(net: GradCamNet, name: string, classNames: string[]): GraphDef {
  return {
    name,
    method: 'gradcam',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [
      { name: 'scores', meaning: 'class logits [N, C] (multi-label; sigmoid for probabilities)' },
      { name: 'cams', meaning: 'Grad-CAM maps [N, C, H, W] at input size: bilinear (half-pixel) upsampling, each class divided by (max + 1e-5)' },
      {
        name: 'raw_cams',
        meaning: `Grad-CAM maps [N, C, h, w] at feature resolution (stride ${net.backbone.outputStride}): ReLU(Σ_k α_k A^k), α the spatial sum of ∂y^c/∂A^k (h·w × the paper's mean), unnormalised`,
      },
    ],
    classNames,
    labelRule: GRADCAM_LABEL_RULE,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const image = inputs.image;
      const features = net.features(ops, image);
      const scores = net.head.scores(ops, features);
      const raw = net.head.rawMaps(ops, features);
      return { scores, cams: divideByPeak(ops, ops.resizeBilinear(raw, { like: image }, false), CAM_NORM_EPS), raw_cams: raw };
    },
  };
}
