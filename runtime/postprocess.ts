// Model outputs → label maps, colours and overlays. Pure functions shared by Node (server,
// batch pseudo-labelling) and the browser demo, so both turn the same numbers into the same
// labels.
//
// Label convention: 0 = background, class i of the model's class_names (0-based) = label i + 1.
// Ties in every argmax go to the lowest index (background first), as in the reference code.

import type { ModelInfo } from './model-metadata.ts';
import { OUTPUT_NAMES } from './model-metadata.ts';
import { resizeBilinearCHW } from './resize.ts';
import { IGNORE_LABEL } from './voc-palette.ts';

/** Default background threshold for max-normalised CAMs when the caller gives none. */
export const DEFAULT_CAM_BG_THRESHOLD = 0.15;

/** Largest class count a Uint8Array label map holds: labels 0..254, IGNORE_LABEL (255) stays free. */
export const MAX_CLASSES = IGNORE_LABEL - 1;

/**
 * How labels come out of a model:
 * - 'argmax': over an output with a background channel first ([N, C+1, H, W]: 'masks', 'logits').
 * - 'cam-threshold': over [bgThreshold, cams...] of max-normalised CAMs ([N, C, H, W]: 'cams').
 */
export interface LabelRule {
  /** 'onestage-masks': 1-Stage's rule on its masks (runtime/cam/onestage-merge.ts), from the model's label_rule. */
  kind: 'argmax' | 'cam-threshold' | 'onestage-masks';
  output: string;
}

/**
 * Picks the label rule from the model's declared outputs: a segmentation output (masks, then
 * logits) when there is one, since it is the model's final answer, else its CAMs.
 */
export function chooseLabelRule(info: Pick<ModelInfo, 'outputs' | 'graph'> & { labelRule?: ModelInfo['labelRule'] }): LabelRule {
  const names = info.outputs.map((o) => o.name);
  if (info.labelRule?.kind === 'onestage-masks' && names.includes(OUTPUT_NAMES.masks)) return { kind: 'onestage-masks', output: OUTPUT_NAMES.masks };
  if (names.includes(OUTPUT_NAMES.masks)) return { kind: 'argmax', output: OUTPUT_NAMES.masks };
  if (names.includes(OUTPUT_NAMES.logits)) return { kind: 'argmax', output: OUTPUT_NAMES.logits };
  if (names.includes(OUTPUT_NAMES.cams)) return { kind: 'cam-threshold', output: OUTPUT_NAMES.cams };
  throw new Error(
    `model ${info.graph} has no output that gives labels (needs '${OUTPUT_NAMES.masks}', '${OUTPUT_NAMES.logits}' ` +
      `or '${OUTPUT_NAMES.cams}'); its outputs are: ${names.join(', ')}`,
  );
}

export interface LabelMap {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The [C, H, W] planes of image `index` of an [N, C, H, W] tensor (a view, no copy). */
export function imagePlanes(t: { data: Float32Array; dims: readonly number[] }, index = 0): { data: Float32Array; channels: number; height: number; width: number } {
  if (t.dims.length !== 4) throw new Error(`expected an [N, C, H, W] output, got dims [${t.dims.join(', ')}]`);
  const [n, c, h, w] = t.dims;
  if (index < 0 || index >= n) throw new Error(`image index ${index} out of range for batch of ${n}`);
  const size = c * h * w;
  return { data: t.data.subarray(index * size, (index + 1) * size), channels: c, height: h, width: w };
}

/**
 * Labels from one image's class maps [channels, H, W].
 * 'argmax': label = argmax over the channels (channel 0 = background).
 * 'cam-threshold': label = argmax over [bgThreshold, cam_1..cam_C] (0 = background).
 * Maps not at width×height are first resized (bilinear, half-pixel centres) to it.
 */
export function labelsFromMaps(
  maps: Float32Array,
  channels: number,
  height: number,
  width: number,
  rule: LabelRule['kind'],
  options: { bgThreshold?: number; outWidth?: number; outHeight?: number } = {},
): LabelMap {
  if (rule === 'onestage-masks') throw new Error("labelsFromMaps: the 'onestage-masks' rule needs the model's scores (runtime/cam/onestage-merge.ts)");
  const outH = options.outHeight ?? height;
  const outW = options.outWidth ?? width;
  const classes = rule === 'argmax' ? channels - 1 : channels;
  if (classes < 1) throw new Error(`${rule} labelling needs at least one class channel, got ${channels} channels`);
  if (classes > MAX_CLASSES) throw new Error(`${classes} classes do not fit an 8-bit label map (max ${MAX_CLASSES})`);
  const m = resizeBilinearCHW(maps, channels, height, width, outH, outW, false);
  const n = outH * outW;
  const labels = new Uint8Array(n);
  const bg = options.bgThreshold ?? DEFAULT_CAM_BG_THRESHOLD;
  const labelOffset = rule === 'argmax' ? 0 : 1;
  for (let i = 0; i < n; i++) {
    let best = rule === 'argmax' ? m[i] : bg;
    let label = 0;
    for (let c = rule === 'argmax' ? 1 : 0; c < channels; c++) {
      const v = m[c * n + i];
      if (v > best) {
        best = v;
        label = c + labelOffset;
      }
    }
    labels[i] = label;
  }
  return { data: labels, width: outW, height: outH };
}

/** Pixel count per label. */
export function labelCounts(labels: LabelMap, numLabels: number): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  for (const l of labels.data) if (l < numLabels) counts[l]++;
  return counts;
}

/**
 * Blends label colours over an RGBA image of the label map's size. Background (label 0) and
 * labels switched off in `visible` leave the image as it is; `opacity` in [0, 1]. `colours` holds
 * flat RGB triples per label (vocPalette(n) of voc-palette.ts).
 */
export function composeOverlay(
  base: Uint8Array | Uint8ClampedArray,
  labels: LabelMap,
  colours: Uint8Array,
  opacity: number,
  visible?: readonly boolean[],
): Uint8ClampedArray {
  const n = labels.width * labels.height;
  if (base.length !== 4 * n) throw new Error(`overlay base has ${base.length} bytes, expected RGBA ${labels.width}×${labels.height}`);
  const a = Math.min(1, Math.max(0, opacity));
  const out = new Uint8ClampedArray(base);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i];
    if (l === 0 || 3 * l >= colours.length || (visible && visible[l] === false)) continue;
    const p = 4 * i;
    out[p] = base[p] + (colours[3 * l] - base[p]) * a;
    out[p + 1] = base[p + 1] + (colours[3 * l + 1] - base[p + 1]) * a;
    out[p + 2] = base[p + 2] + (colours[3 * l + 2] - base[p + 2]) * a;
  }
  return out;
}

/** A blue→cyan→yellow→red ramp ('jet'-like) for v in [0, 1]. */
export function heatColour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const ramp = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [ramp(1.5 - Math.abs(4 * t - 3)), ramp(1.5 - Math.abs(4 * t - 2)), ramp(1.5 - Math.abs(4 * t - 1))];
}

/**
 * One class's CAM as a heat map blended over an RGBA image of the output size; the CAM plane
 * [h, w] is resized (half-pixel bilinear) to the image first. Values are clamped to [0, 1].
 */
export function camHeatmap(
  base: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  cam: Float32Array,
  camHeight: number,
  camWidth: number,
  opacity: number,
): Uint8ClampedArray {
  const n = width * height;
  if (base.length !== 4 * n) throw new Error(`heat map base has ${base.length} bytes, expected RGBA ${width}×${height}`);
  const plane = resizeBilinearCHW(cam, 1, camHeight, camWidth, height, width, false);
  const a = Math.min(1, Math.max(0, opacity));
  const out = new Uint8ClampedArray(base);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = heatColour(plane[i]);
    const p = 4 * i;
    out[p] = base[p] + (r - base[p]) * a;
    out[p + 1] = base[p + 1] + (g - base[p + 1]) * a;
    out[p + 2] = base[p + 2] + (b - base[p + 2]) * a;
  }
  return out;
}
