// The CAM baseline head shared by every backbone: global average pooling + a bias-free 1×1
// classifier for the scores, and class activation maps from the same classifier applied at
// every position (CAM = ReLU(W·F)), upsampled to the input and max-normalised per class.

import { Conv2d } from './layers.ts';
import { Module } from './module.ts';
import type { Ops, Tensor } from './ops.ts';

/** The 1-Stage / VWE guard: each class map is divided by (its max + 1e-5). */
export const CAM_NORM_EPS = 1e-5;

/** Each channel of x [N, C, H, W] divided by (its spatial max + eps). */
export function divideByPeak(ops: Ops, x: Tensor, eps: number): Tensor {
  const peak = ops.reduceMax(x, [2, 3], true);
  return ops.div(x, eps ? ops.add(peak, eps) : peak);
}

export class CamHead extends Module {
  readonly classifier: Conv2d;
  /**
   * @param classifierName  the 1×1 conv's module name, for checkpoints that call it otherwise
   *                        (1-Stage: 'fc8')
   */
  constructor(inChannels: number, readonly numClasses: number, classifierName = 'classifier') {
    super();
    this.classifier = this.child(classifierName, new Conv2d(inChannels, numClasses, 1, { bias: false, weightInit: { kind: 'xavier-uniform' } }));
  }

  /** Class scores [N, C] from features [N, F, h, w] (GAP then the classifier). */
  scores(ops: Ops, features: Tensor): Tensor {
    const pooled = ops.globalAvgPool(features);
    return ops.reshape(this.classifier.forward(ops, pooled), [0, -1]);
  }

  /** Raw CAMs at feature resolution: ReLU(classifier(features)), [N, C, h, w]. */
  rawCams(ops: Ops, features: Tensor): Tensor {
    return ops.relu(this.classifier.forward(ops, features));
  }

  /**
   * CAMs at the input's size: raw CAMs resized bilinearly (align_corners=False, as the
   * multi-scale mergers of the reference repos do), each class divided by (its max + 1e-5).
   */
  normalisedCams(ops: Ops, raw: Tensor, image: Tensor): Tensor {
    return divideByPeak(ops, ops.resizeBilinear(raw, { like: image }, false), CAM_NORM_EPS);
  }
}
