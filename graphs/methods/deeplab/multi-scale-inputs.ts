// Multi-scale inputs with max fusion (DeepLab-v2 §3.2 "MSc"; seed 004 §2.2 trains its DeepLab
// this way): the image at scales 1, 0.75 and 0.5 through the same network, the smaller scales'
// logits resized (bilinear) to the scale-1 logits' size, and the element-wise maximum taken.
// Training adds one loss per scale and one for the fused logits; inference uses the fused ones.

import type { Ops, Tensor } from '../../ops.ts';

export const MULTI_SCALE_INPUTS = [1, 0.75, 0.5] as const;

export interface ScaleLogits {
  /** Logits of each scale in MULTI_SCALE_INPUTS order, at that scale's own resolution. */
  perScale: Tensor[];
  /** Max over the scales, at the scale-1 logits' size. */
  fused: Tensor;
}

/**
 * `logitsOf` applied to the image at each scale (the image resized bilinearly, half-pixel, each
 * side to max(1, floor(side · scale))), and the max fusion of the results.
 */
export function multiScaleLogits(ops: Ops, image: Tensor, logitsOf: (x: Tensor) => Tensor, scales: readonly number[] = MULTI_SCALE_INPUTS): ScaleLogits {
  if (scales[0] !== 1) throw new Error(`multi-scale inputs: the first scale must be 1 (the fused size), got ${scales[0]}`);
  const perScale = scales.map((s) => logitsOf(s === 1 ? image : ops.resizeBilinear(image, { scale: s }, false)));
  const fused = perScale.slice(1).reduce((acc, l) => ops.maximum(acc, ops.resizeBilinear(l, { like: perScale[0] }, false)), perScale[0]);
  return { perScale, fused };
}
