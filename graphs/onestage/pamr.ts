// PAMR, pixel-adaptive mask refinement (Araslanov & Roth, CVPR'20; SPEC.md §1.3): a mask is
// repeatedly replaced by an affinity-weighted average of its dilated 3×3 neighbours, the
// affinities coming from local colour differences of the image. Parameter-free graph code, so
// the same function runs in training (tfjs), in an exported model and standalone (`wsss refine
// --pamr` exports just this graph).
//
// Layout: every neighbour set is one depthwise convolution with one-hot 3×3 kernels (dilation d)
// on the replicate-padded input, giving [B, C·8, H, W] with channel c·8 + q = neighbour q of
// channel c. Sums over q and the broadcasts between the per-pixel [B, 8, H, W] affinities and
// the C·8 channels are 1×1 convolutions with 0/1 weights — all rank-4 ops that both interpreters
// run natively, a handful per iteration instead of one per neighbour.

import type { Ops, Tensor } from '../ops.ts';

/** `PAMR_KERNEL` and `PAMR_ITER` of 1-stage-wseg's config. */
export const PAMR_DILATIONS = [1, 2, 4, 8, 12, 24];
export const PAMR_ITERATIONS = 10;
/** The kernel divides colour differences by (STD_SCALE·σ + EPS) (the paper's σ² is σ·0.1 in the code). */
const STD_SCALE = 0.1;
const EPS = 1e-8;

/** (dy, dx) of the 8 neighbours at dilation 1, in the reference's order (centre excluded). */
export const NEIGHBOUR_OFFSETS: [number, number][] = [
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, -1],
  [0, 1],
  [1, -1],
  [1, 0],
  [1, 1],
];
const Q = NEIGHBOUR_OFFSETS.length;

export interface PamrOptions {
  dilations?: number[];
  iterations?: number;
}

function checkDilations(dilations: number[]): number {
  if (!dilations.length || dilations.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`PAMR: dilations must be positive integers, got [${dilations.join(', ')}]`);
  return Math.max(...dilations);
}

/** Depthwise weights [C·8, 1, 3, 3]: output channel c·8 + q picks neighbour q of channel c. */
function neighbourKernel(ops: Ops, channels: number): Tensor {
  const w = new Float32Array(channels * Q * 9);
  for (let c = 0; c < channels; c++)
    NEIGHBOUR_OFFSETS.forEach(([dy, dx], q) => {
      w[(c * Q + q) * 9 + (dy + 1) * 3 + (dx + 1)] = 1;
    });
  return ops.constant(w, [channels * Q, 1, 3, 3]);
}

/** 1×1 weights [C, C·8, 1, 1] summing channels c·8 .. c·8 + 7 into c, times `scale`. */
function groupSumKernel(ops: Ops, channels: number, scale = 1): Tensor {
  const w = new Float32Array(channels * channels * Q);
  for (let c = 0; c < channels; c++) for (let q = 0; q < Q; q++) w[c * channels * Q + c * Q + q] = scale;
  return ops.constant(w, [channels, channels * Q, 1, 1]);
}

/** 1×1 weights [8, C·8, 1, 1] summing channels q, 8 + q, … (one neighbour over all C), times `scale`. */
function neighbourSumKernel(ops: Ops, channels: number, scale: number): Tensor {
  const w = new Float32Array(Q * channels * Q);
  for (let q = 0; q < Q; q++) for (let c = 0; c < channels; c++) w[q * channels * Q + c * Q + q] = scale;
  return ops.constant(w, [Q, channels * Q, 1, 1]);
}

/** 1×1 weights [C·8, 8, 1, 1] copying neighbour q to every channel c·8 + q. */
function tileNeighboursKernel(ops: Ops, channels: number): Tensor {
  const w = new Float32Array(channels * Q * Q);
  for (let c = 0; c < channels; c++) for (let q = 0; q < Q; q++) w[(c * Q + q) * Q + q] = 1;
  return ops.constant(w, [channels * Q, Q, 1, 1]);
}

/** Depthwise 1×1 weights [C·8, 1, 1, 1] of ones: channel c copied to c·8 .. c·8 + 7. */
function tileChannelsKernel(ops: Ops, channels: number): Tensor {
  return ops.constant(new Float32Array(channels * Q).fill(1), [channels * Q, 1, 1, 1]);
}

/**
 * The neighbour sets of x [B, C, H, W] at every dilation, [B, C·8, H, W] each (replicate
 * padding: coordinates clamped to the border). One padding by the largest dilation, sliced per d.
 */
function neighbourSets(ops: Ops, x: Tensor, channels: number, dilations: number[], kernel: Tensor): Tensor[] {
  // On a map of static size, an offset of max(H, W) − 1 or more lands on the border whatever the
  // pixel, so larger dilations give the same neighbours as that one: cap them (less padding).
  const [, , h, w] = ops.shape(x);
  if (h !== null && w !== null) dilations = dilations.map((d) => Math.min(d, Math.max(1, Math.max(h, w) - 1)));
  const dmax = Math.max(...dilations);
  const padded = ops.pad(x, [dmax, dmax, dmax, dmax], 'edge');
  return dilations.map((d) => {
    const m = dmax - d;
    const inner = m === 0 ? padded : ops.slice(padded, [m, m], [-m, -m], [2, 3]);
    return ops.conv2d(inner, kernel, null, { dilation: d, groups: channels });
  });
}

export interface PamrAffinity {
  /** [B, K, H, W]: unbiased standard deviation of the 9·|D| samples per image channel. */
  localStd: Tensor;
  /** [B, 8·|D|, H, W]: softmax over every neighbour (dilation-major, offsets in NEIGHBOUR_OFFSETS order). */
  affinity: Tensor;
}

/** The affinities of an image [B, K, H, W] (SPEC.md §1.3: σ, kernel κ, one softmax over all neighbours). */
export function pamrAffinity(ops: Ops, image: Tensor, dilations: number[] = PAMR_DILATIONS): PamrAffinity {
  checkDilations(dilations);
  const k = ops.shape(image)[1];
  if (k === null) throw new Error('PAMR: the image channel count must be static');
  const sets = neighbourSets(ops, image, k, dilations, neighbourKernel(ops, k));
  const n = (Q + 1) * dilations.length; // the centre is a sample once per dilation
  const sumK = groupSumKernel(ops, k);
  const tileK = tileChannelsKernel(ops, k);
  const tile = (x: Tensor) => ops.conv2d(x, tileK, null, { groups: k });
  // Mean and unbiased variance of the samples, two-pass (as torch.std).
  const total = sets.reduce((acc, s) => ops.add(acc, ops.conv2d(s, sumK, null)), ops.mul(image, dilations.length));
  const mean = ops.div(total, n);
  const meanTiled = tile(mean);
  const centreDev = ops.mul(ops.pow(ops.sub(image, mean), 2), dilations.length);
  const sq = sets.reduce((acc, s) => ops.add(acc, ops.conv2d(ops.pow(ops.sub(s, meanTiled), 2), sumK, null)), centreDev);
  const localStd = ops.sqrt(ops.div(sq, n - 1));
  // κ = mean over colour channels of −|I − N(I)| / (0.1·σ + 1e-8).
  const imageTiled = tile(image);
  const denomTiled = tile(ops.add(ops.mul(localStd, STD_SCALE), EPS));
  const meanOverK = neighbourSumKernel(ops, k, -1 / k);
  const kappa = sets.map((s) => ops.conv2d(ops.div(ops.abs(ops.sub(imageTiled, s)), denomTiled), meanOverK, null));
  const affinity = ops.softmax(ops.concat(kappa, 1), 1);
  return { localStd, affinity };
}

/**
 * Refine `mask` [B, C, h, w] with `image` [B, K, H, W] (RGB in [0, 1] in 1-Stage): the mask is
 * resized to H×W (bilinear, align_corners=True; a no-op when the sizes match), then `iterations`
 * times every channel becomes the affinity-weighted sum of its neighbours. Returns [B, C, H, W].
 * Probability masks stay probability masks (the affinities sum to 1 at every pixel).
 */
export function pamr(ops: Ops, image: Tensor, mask: Tensor, o: PamrOptions = {}): Tensor {
  const dilations = o.dilations ?? PAMR_DILATIONS;
  const iterations = o.iterations ?? PAMR_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`PAMR: iterations must be a non-negative integer, got ${iterations}`);
  const c = ops.shape(mask)[1];
  if (c === null) throw new Error('PAMR: the mask channel count must be static');
  const { affinity } = pamrAffinity(ops, image, dilations);
  let m = ops.resizeBilinear(mask, { like: image }, true);
  // Each dilation's 8 affinities copied to the C·8 channel layout of the mask's neighbours, once.
  const tileQ = tileNeighboursKernel(ops, c);
  const weights = dilations.map((_, i) => ops.conv2d(ops.slice(affinity, [i * Q], [(i + 1) * Q], [1]), tileQ, null));
  const kernel = neighbourKernel(ops, c);
  const sumC = groupSumKernel(ops, c);
  for (let t = 0; t < iterations; t++) {
    const sets = neighbourSets(ops, m, c, dilations, kernel);
    // Σ_d Σ_q α·N: the products of every dilation added channel-wise, then one sum over q.
    const weighted = sets.map((s, i) => ops.mul(s, weights[i])).reduce((a, b) => ops.add(a, b));
    m = ops.conv2d(weighted, sumC, null);
  }
  return m;
}
