// 1-Stage's multi-scale merge of softmax masks (SPEC.md §1.9, `MergeMultiScale`): each view
// was computed on a zero-padded input; crop the padding, resize to the image (half-pixel),
// un-flip, gate foreground channels by the image's predicted labels, average the views, raise
// the background channel to BG_POW, argmax.

import { mergeViews, argmaxChannels, type CamView } from './multiscale.ts';

export interface PaddedMaskView {
  /** [C, P, P] masks (channel 0 = background) on the padded input. */
  data: Float32Array;
  channels: number;
  paddedH: number;
  paddedW: number;
  /** [pad_top, pad_left, h, w]: where the scaled image sits inside the padded input. */
  pad: [number, number, number, number];
  scale: number;
  flipped: boolean;
}

/** Labels ℓ_c = [max over views of sigmoid(score) > fpCut] for foreground classes. */
export function predictedLabels(viewScores: Float32Array[], fpCut: number): Float32Array {
  const c = viewScores[0].length;
  const out = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    let m = -Infinity;
    for (const s of viewScores) m = Math.max(m, 1 / (1 + Math.exp(-s[k])));
    out[k] = m > fpCut ? 1 : 0;
  }
  return out;
}

function crop(v: PaddedMaskView): CamView {
  const [top, left, h, w] = v.pad;
  const out = new Float32Array(v.channels * h * w);
  for (let c = 0; c < v.channels; c++)
    for (let y = 0; y < h; y++) {
      const src = (c * v.paddedH + top + y) * v.paddedW + left;
      out.set(v.data.subarray(src, src + w), (c * h + y) * w);
    }
  return { data: out, channels: v.channels, h, w, scale: v.scale, flipped: v.flipped };
}

export function mergeOneStageMasks(
  views: PaddedMaskView[],
  labels: Float32Array,
  outH: number,
  outW: number,
  bgPow = 3,
): { merged: Float32Array; pred: Uint8Array } {
  const channels = views[0].channels;
  const hw = outH * outW;
  // Gating before or after the (linear) resize and average is the same; do it once at the end.
  const merged = mergeViews(views.map(crop), outH, outW, 'mean');
  for (let c = 1; c < channels; c++) {
    const g = labels[c - 1];
    for (let i = c * hw; i < (c + 1) * hw; i++) merged[i] *= g;
  }
  for (let i = 0; i < hw; i++) merged[i] = Math.pow(merged[i], bgPow);
  return { merged, pred: argmaxChannels(merged, channels, hw) };
}

/**
 * 1-Stage labels of one image from its views' session outputs (masks at each view's input size,
 * scores): the views are unpadded (the reference pads to a fixed size only to batch them), so
 * each view is its own crop. Classes: `keep` (0-based, the image labels) when given, else those
 * whose max sigmoid score over the views exceeds fpCut. Returns the merged masks [C, H, W]
 * (gated, background raised to bgPow) and the label map.
 */
export function oneStageImageLabels(
  outputs: { scale: number; rawCams: { data: Float32Array; dims: number[] }; scores?: { data: Float32Array; dims: number[] } }[],
  height: number,
  width: number,
  rule: { bgPow: number; fpCut: number },
  keep?: number[],
): { merged: Float32Array; pred: Uint8Array; channels: number } {
  const views: PaddedMaskView[] = [];
  const viewScores: Float32Array[] = [];
  for (const { scale, rawCams, scores } of outputs) {
    const [n, c, h, w] = rawCams.dims;
    for (let i = 0; i < n; i++) {
      views.push({ data: rawCams.data.subarray(i * c * h * w, (i + 1) * c * h * w), channels: c, paddedH: h, paddedW: w, pad: [0, 0, h, w], scale, flipped: i === 1 });
      if (scores) viewScores.push(scores.data.subarray(i * scores.dims[1], (i + 1) * scores.dims[1]));
    }
  }
  if (!views.length) throw new Error('oneStageImageLabels: no views');
  const channels = views[0].channels;
  let labels: Float32Array;
  if (keep) {
    labels = new Float32Array(channels - 1);
    for (const k of keep) if (k >= 0 && k < channels - 1) labels[k] = 1;
  } else {
    if (!viewScores.length) throw new Error("1-Stage labelling without image labels needs the model's 'scores' output");
    labels = predictedLabels(viewScores, rule.fpCut);
  }
  const { merged, pred } = mergeOneStageMasks(views, labels, height, width, rule.bgPow);
  return { merged, pred, channels };
}
