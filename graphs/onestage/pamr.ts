// PAMR, pixel-adaptive mask refinement (Araslanov & Roth, CVPR'20; SPEC.md §1.3): a mask is
// repeatedly replaced by an affinity-weighted average of its dilated 3×3 neighbours, the
// affinities coming from local colour differences of the image. Parameter-free graph code, so
// the same function runs in training (tfjs), in an exported model and standalone (`wsss refine
// --pamr` exports just this graph).
//
// Layout: for the affinities, the neighbours of every dilation are slices of one replicate-padded
// copy of the image (P = 8·|D| of them, dilation-major), concatenated to [B, P·K, H, W] and summed
// by 1×1 convolutions with 0/1 weights (K = 3 colour channels: cheap). The refinement iterations
// are `Ops.shiftedWeightedSum`: a kernel of our own in tfjs, Pad + Slice + Mul + Add in ONNX.

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

/** 1×1 weights [C, P·C, 1, 1] summing channels j·C + c over j into c, times `scale`. */
function sumOverNeighbours(ops: Ops, channels: number, p: number, scale = 1): Tensor {
  const w = new Float32Array(channels * p * channels);
  for (let c = 0; c < channels; c++) for (let j = 0; j < p; j++) w[c * p * channels + j * channels + c] = scale;
  return ops.constant(w, [channels, p * channels, 1, 1]);
}

/** 1×1 weights [P, P·C, 1, 1] summing channels j·C + c over c into j, times `scale`. */
function sumOverChannels(ops: Ops, channels: number, p: number, scale: number): Tensor {
  const w = new Float32Array(p * p * channels);
  for (let j = 0; j < p; j++) for (let c = 0; c < channels; c++) w[j * p * channels + j * channels + c] = scale;
  return ops.constant(w, [p, p * channels, 1, 1]);
}

/** 1×1 weights [P·C, C, 1, 1] copying channel c to every channel j·C + c. */
function tileChannels(ops: Ops, channels: number, p: number): Tensor {
  const w = new Float32Array(p * channels * channels);
  for (let j = 0; j < p; j++) for (let c = 0; c < channels; c++) w[(j * channels + c) * channels + c] = 1;
  return ops.constant(w, [p * channels, channels, 1, 1]);
}

/**
 * The neighbours of x [B, C, H, W] at every dilation with replicate padding (coordinates clamped
 * to the border): [B, P·C, H, W], channel j·C + c = neighbour j of channel c.
 */
function neighbours(ops: Ops, x: Tensor, dilations: number[]): Tensor {
  // On a map of static size, an offset of max(H, W) − 1 or more lands on the border whatever the
  // pixel, so larger dilations give the same neighbours as that one: cap them (less padding).
  const [, , h, w] = ops.shape(x);
  if (h !== null && w !== null) dilations = dilations.map((d) => Math.min(d, Math.max(1, Math.max(h, w) - 1)));
  const dmax = Math.max(...dilations);
  const padded = ops.pad(x, [dmax, dmax, dmax, dmax], 'edge');
  // Window [dmax + δ, dmax + δ + size) of the padded axis; its end counted from the end (size is dynamic).
  const end = (delta: number) => (dmax - delta === 0 ? 1 << 30 : -(dmax - delta));
  const parts: Tensor[] = [];
  for (const d of dilations)
    for (const [dy, dx] of NEIGHBOUR_OFFSETS) parts.push(ops.slice(padded, [dmax + dy * d, dmax + dx * d], [end(dy * d), end(dx * d)], [2, 3]));
  return ops.concat(parts, 1);
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
  const p = Q * dilations.length;
  const n = neighbours(ops, image, dilations); // [B, P·K, H, W]
  const samples = (Q + 1) * dilations.length; // the centre is a sample once per dilation
  const tile = tileChannels(ops, k, p);
  const sumJ = sumOverNeighbours(ops, k, p);
  // Mean and unbiased variance of the samples, two-pass (as torch.std).
  const mean = ops.div(ops.add(ops.conv2d(n, sumJ, null), ops.mul(image, dilations.length)), samples);
  const sq = ops.add(ops.conv2d(ops.pow(ops.sub(n, ops.conv2d(mean, tile, null)), 2), sumJ, null), ops.mul(ops.pow(ops.sub(image, mean), 2), dilations.length));
  const localStd = ops.sqrt(ops.div(sq, samples - 1));
  // κ = mean over colour channels of −|I − N(I)| / (0.1·σ + 1e-8).
  const diff = ops.div(ops.abs(ops.sub(ops.conv2d(image, tile, null), n)), ops.conv2d(ops.add(ops.mul(localStd, STD_SCALE), EPS), tile, null));
  const affinity = ops.softmax(ops.conv2d(diff, sumOverChannels(ops, k, p, -1 / k), null), 1);
  return { localStd, affinity };
}

/**
 * Refine `mask` [B, C, h, w] with `image` [B, K, H, W] (RGB in [0, 1] in 1-Stage): the mask is
 * resized to H×W (bilinear, align_corners=True; a no-op when the sizes match), then `iterations`
 * times every channel becomes the affinity-weighted sum of its neighbours. Returns [B, C, H, W].
 * Probability masks stay probability masks (the affinities sum to 1 at every pixel).
 *
 * An iteration is Σ_j A_j ⊙ N_j(m) (`Ops.shiftedWeightedSum`): each neighbour's affinity map
 * [B, 1, H, W] times the mask shifted to that neighbour, 8·|D|·C multiply-adds per pixel; the
 * 1×1-convolution layout of the affinities would cost 8·|D|·C² (21× more with 21 classes).
 */
export function pamr(ops: Ops, image: Tensor, mask: Tensor, o: PamrOptions = {}): Tensor {
  const dilations = o.dilations ?? PAMR_DILATIONS;
  const iterations = o.iterations ?? PAMR_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`PAMR: iterations must be a non-negative integer, got ${iterations}`);
  if (ops.shape(mask)[1] === null) throw new Error('PAMR: the mask channel count must be static');
  const { affinity } = pamrAffinity(ops, image, dilations);
  const offsets = dilations.flatMap((d) => NEIGHBOUR_OFFSETS.map(([dy, dx]) => [dy * d, dx * d] as const));
  let m = ops.resizeBilinear(mask, { like: image }, true);
  for (let t = 0; t < iterations; t++) m = ops.shiftedWeightedSum(m, affinity, offsets);
  return m;
}
