// Patch Learning (Li et al., §III-B, Fig. 4): the Patch Operation slices a feature map into
// K×K patches, re-encodes each with a shared 3×3 conv φ1 and runs the following backbone stages
// on every patch independently (the patches are a batch); the Merge Operation re-encodes each
// patch's output with a shared 3×3 conv φ2 and stitches the patches back in their sliced order.
//
// Ragged maps (H or W not a multiple of K): patches are ⌈H/K⌉×⌈W/K⌉ as the paper defines them;
// ops.patchSplit zero-pads the bottom/right, so the last row/column of patches holds zeros
// (post-ReLU "no activation"), which reach the valid pixels of that patch only through the
// 3×3 windows at its border, exactly like a conv's own zero padding; the merged map is cropped
// to the undestructed path's size, so padded positions never reach the classifier or the CAM.
// When the following stages downsample by s, a patch of ⌈H/K⌉ rows that is not a multiple of s
// starts its output grid a fraction of a pixel off the undestructed grid (< 1 output pixel per
// patch); at every size the benchmark uses (multiples of K·s) the grids coincide exactly.

import { BatchNorm2d, Conv2d } from '../../layers.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';

/**
 * φ1 / φ2: a 3×3 conv (stride 1, padding 1) + BN + ReLU keeping the width. The paper says only
 * "a shared convolution layer" of C×3×3; BN + ReLU make its output a post-ReLU feature like the
 * backbone's own, which is what the next stage (φ1) and the CAM (φ2) expect. Kaiming-uniform
 * init, as the paper initialises every added layer.
 */
export class PatchConv extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(channels: number) {
    super();
    this.conv = this.child('conv', new Conv2d(channels, channels, 3, { padding: 1, bias: false, weightInit: { kind: 'kaiming-uniform' } }));
    this.bn = this.child('bn', new BatchNorm2d(channels));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.bn.forward(ops, this.conv.forward(ops, x)));
  }
}

/** What one destruction runs: φ1, the following stages (shared with the undestructed path), φ2. */
export interface PatchPath {
  k: number;
  phi1: (ops: Ops, x: Tensor) => Tensor;
  following: (ops: Ops, x: Tensor) => Tensor;
  phi2: (ops: Ops, x: Tensor) => Tensor;
}

/**
 * F̃ = Merge(φ2(following(φ1(Patch(F, K))))), cropped to `like` (the undestructed final map F̂,
 * whose size the merged map must take to be concatenated with it).
 */
export function patchLearning(ops: Ops, features: Tensor, path: PatchPath, like: Tensor): Tensor {
  const patches = ops.patchSplit(features, path.k);
  const out = path.phi2(ops, path.following(ops, path.phi1(ops, patches)));
  return ops.patchMerge(out, path.k, like);
}
