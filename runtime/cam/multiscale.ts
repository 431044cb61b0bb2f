// Multi-scale + flip aggregation of CAMs, as the reference repos do it (SPEC.md §1.9, §2.5,
// §3.4). A "view" is the network's map for one scaled (and possibly flipped) input. Three
// merge rules, selectable by name:
//   'max-flip-sum' (VWE / IRN style, the default): per scale, element-wise max of the view and
//       the un-flipped flipped view; resize each to the output size; sum over scales.
//   'sum' (EDAM): resize every view to the output size, un-flip, sum all views.
//   'mean' (1-Stage): resize every view, un-flip, average all views (label gating and the
//       background power are applied by the caller, see mergeOneStageMasks).
// All resizes are bilinear with align_corners=False (half-pixel), as in all three repos.

import { flipWidthCHW, flipWidthInto, resizeBilinearCHW, resizeBilinearInto } from '../resize.ts';

export type MergeRule = 'max-flip-sum' | 'sum' | 'mean';
export const MERGE_RULES: MergeRule[] = ['max-flip-sum', 'sum', 'mean'];

export interface CamView {
  /** [channels, h, w] row-major. */
  data: Float32Array;
  channels: number;
  h: number;
  w: number;
  scale: number;
  /** The input was horizontally flipped; the map is not yet un-flipped. */
  flipped: boolean;
}

function resizeTo(v: { data: Float32Array; channels: number; h: number; w: number }, oh: number, ow: number): Float32Array {
  return resizeBilinearCHW(v.data, v.channels, v.h, v.w, oh, ow, false);
}

function addInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += x[i];
}

/** Merge views into one [channels, outH, outW] map with the given rule. */
export function mergeViews(views: CamView[], outH: number, outW: number, rule: MergeRule): Float32Array {
  if (!views.length) throw new Error('mergeViews: no views');
  const channels = views[0].channels;
  const acc = new Float32Array(channels * outH * outW);
  if (rule === 'max-flip-sum') {
    // Pair each scale's plain view with its flipped twin (if any), max at view resolution.
    const byScale = new Map<number, CamView[]>();
    for (const v of views) {
      const group = byScale.get(v.scale);
      if (group) group.push(v);
      else byScale.set(v.scale, [v]);
    }
    for (const group of byScale.values()) {
      const { h, w } = group[0];
      const combined = new Float32Array(channels * h * w);
      group.forEach((v, k) => {
        if (k === 0) {
          if (v.flipped) flipWidthInto(v.data, 0, combined, 0, channels, h, w);
          else combined.set(v.data.subarray(0, combined.length));
          return;
        }
        // Element-wise max with the (un-flipped) view, read mirrored in place of a flipped copy.
        for (let r = 0; r < channels * h; r++) {
          const row = r * w;
          for (let x = 0; x < w; x++) combined[row + x] = Math.max(combined[row + x], v.data[v.flipped ? row + w - 1 - x : row + x]);
        }
      });
      resizeBilinearInto(combined, channels, h, w, outH, outW, false, acc, 0, true);
    }
    return acc;
  }
  for (const v of views) {
    if (!v.flipped) resizeBilinearInto(v.data, channels, v.h, v.w, outH, outW, false, acc, 0, true);
    else addInto(acc, flipWidthCHW(resizeTo(v, outH, outW), channels, outH, outW));
  }
  if (rule === 'mean') for (let i = 0; i < acc.length; i++) acc[i] /= views.length;
  return acc;
}

/** Keep the listed channels (ascending class indices), in that order. */
export function selectChannels(maps: Float32Array, channels: number, hw: number, keys: number[]): Float32Array {
  const out = new Float32Array(keys.length * hw);
  keys.forEach((k, j) => {
    if (k < 0 || k >= channels) throw new Error(`selectChannels: class ${k} out of range 0..${channels - 1}`);
    out.set(maps.subarray(k * hw, (k + 1) * hw), j * hw);
  });
  return out;
}

/** Divide each channel by (its max + eps) in place (eps = 1e-5 in VWE/1-Stage, 0 in EDAM). */
export function normaliseByMax(maps: Float32Array, channels: number, hw: number, eps: number): Float32Array {
  for (let c = 0; c < channels; c++) {
    let m = -Infinity;
    for (let i = c * hw; i < (c + 1) * hw; i++) if (maps[i] > m) m = maps[i];
    const d = m + eps;
    for (let i = c * hw; i < (c + 1) * hw; i++) maps[i] = maps[i] / d;
  }
  return maps;
}

/**
 * Label map from per-class score maps of the kept classes `keys` (0-based foreground ids):
 * a constant background score is prepended, argmax (first index on ties), channel j ≥ 1 maps
 * to label keys[j−1] + 1, channel 0 to 0 (background).
 */
export function labelMapWithBackground(maps: Float32Array, keys: number[], hw: number, bgScore: number): Uint8Array {
  const out = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    let best = bgScore;
    let label = 0;
    for (let j = 0; j < keys.length; j++) {
      const v = maps[j * hw + p];
      if (v > best) {
        best = v;
        label = keys[j] + 1;
      }
    }
    out[p] = label;
  }
  return out;
}

/** Argmax over channels of [C, hw] maps (first index on ties). */
export function argmaxChannels(maps: Float32Array, channels: number, hw: number): Uint8Array {
  const out = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    let best = maps[p];
    let label = 0;
    for (let c = 1; c < channels; c++) {
      const v = maps[c * hw + p];
      if (v > best) {
        best = v;
        label = c;
      }
    }
    out[p] = label;
  }
  return out;
}
