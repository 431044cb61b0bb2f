// 1-Stage's CAM baseline head (`BaselineCAM`, SPEC.md §1.8): the shared CAM head with the
// classifier named `fc8`, and masks built the 1-Stage way. Two details differ from the VWE/IRN
// CAM of CamHead.normalisedCams and both change the numbers: the class logits are resized to
// the image with align_corners=TRUE (the 1-Stage training path uses AC everywhere) and the
// ReLU comes AFTER the resize; a constant background channel (0.1) is put in front so the masks
// have the same layout as the segmentation head's (channel 0 = background).

import { CAM_NORM_EPS, CamHead, divideByPeak } from '../cam-head.ts';
import type { Ops, ResizeTarget, Tensor } from '../ops.ts';

/** The background channel's constant score (`BG_SCORE` of the 1-Stage config). */
export const ONESTAGE_BG_SCORE = 0.1;

export class BaselineCam extends CamHead {
  constructor(
    inChannels: number,
    numForegroundClasses: number,
    readonly bgScore = ONESTAGE_BG_SCORE,
    readonly normEps = CAM_NORM_EPS,
  ) {
    super(inChannels, numForegroundClasses, 'fc8');
  }

  /**
   * Masks [N, 1 + C, H, W] at `to` (the image size): channel 0 = bgScore (0.1), channel
   * c ≥ 1 = ReLU(resize_AC(fc8(features))) of class c − 1 divided by (its max + normEps (1e-5)).
   */
  masks(ops: Ops, features: Tensor, to: ResizeTarget): Tensor {
    const logits = ops.resizeBilinear(this.classifier.forward(ops, features), to, true);
    const fg = divideByPeak(ops, ops.relu(logits), this.normEps);
    // A [N, 1, H, W] constant of the dynamic size: one channel of the maps, zeroed, plus the
    // score (the maps are finite, so ·0 is exactly 0).
    const bg = ops.add(ops.mul(ops.slice(fg, [0], [1], [1]), 0), this.bgScore);
    return ops.concat([bg, fg], 1);
  }
}
