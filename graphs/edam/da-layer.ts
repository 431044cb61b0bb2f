// EDAM's Discriminative Activation layer (SPEC.md §3.2, `forward_cam` of the official code):
// a bias-free 3×3 conv from the trunk's features to K+1 masks, L2-normalised ACROSS the masks at
// each pixel, then the absolute value. No softmax, ReLU or sigmoid: the masks are |unit vector|
// components, so every pixel's masks have squared sum 1. Mask c < K belongs to foreground class
// c; the last one is never read by training or inference but takes part in the normalisation.
//
// Used as a child named `mask_layer` so its weight is `mask_layer.weight`, the official name.

import { Conv2d } from '../layers.ts';
import type { Ops, Tensor } from '../ops.ts';

/** torch.nn.functional.normalize's default eps. */
export const DA_L2_EPS = 1e-12;

export class DaLayer extends Conv2d {
  /** @param numMasks K + 1 (21 for VOC: 20 classes and the unused extra mask) */
  constructor(inChannels: number, readonly numMasks: number) {
    super(inChannels, numMasks, 3, { padding: 1, bias: false, weightInit: { kind: 'xavier-uniform' } });
  }

  /** The conv's output A [N, K+1, h, w] and the masks M = |A / max(‖A‖₂ over channels, 1e-12)|. */
  masksWithLogits(ops: Ops, features: Tensor): { convOut: Tensor; masks: Tensor } {
    const convOut = super.forward(ops, features);
    return { convOut, masks: ops.abs(ops.l2Normalize(convOut, 1, DA_L2_EPS)) };
  }

  /** The DA masks [N, K+1, h, w]. */
  override forward(ops: Ops, features: Tensor): Tensor {
    return this.masksWithLogits(ops, features).masks;
  }
}
