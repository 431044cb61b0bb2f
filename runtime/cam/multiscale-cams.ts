// CAMs of one image over several scales and horizontal flips, from an exported model's
// `raw_cams` output (stride-s maps, unnormalised) — the pseudo-labeller's core, shared by
// Node and the browser.
//
// Where this lives was decided by measurement (README, "Multi-scale CAMs: graph or runtime"):
// the views are separate session.run calls because each scale has its own input size, and
// the aggregation (a few resizes of C small maps) costs far less than the network, while
// keeping every repo's merge rule, any scale list and the image's labels selectable at run time.

import { flipWidthInto, resizeBilinearInto, scaledSize } from '../resize.ts';
import { resizePlanesAntialiased } from '../resize-antialiased.ts';
import type { FloatTensor } from '../session.ts';
import { labelMapWithBackground, mergeViews, normaliseByMax, selectChannels, type CamView, type MergeRule } from './multiscale.ts';

export interface MultiScaleOptions {
  /** Scales, the first being the output size's reference (default 1.0, 0.5, 1.5, 2.0). */
  scales: number[];
  flip: boolean;
  rule: MergeRule;
  /**
   * Also merge the views at stride s of the image, ((H−1)//s+1) × ((W−1)//s+1), returned as
   * ImageCams.strided (IRNet's make_cam.py keeps such stride-4 'cam' maps next to 'high_res').
   */
  stridedOutput?: number;
  /** Each merged class map is divided by (its max + normEps): 1e-5 (VWE, 1-Stage; the default) or 0 (EDAM). */
  normEps?: number;
}

export const DEFAULT_SCALES = [1.0, 0.5, 1.5, 2.0];
export const DEFAULT_MULTISCALE: MultiScaleOptions = { scales: DEFAULT_SCALES, flip: true, rule: 'max-flip-sum' };

/** Planar RGB [3, H, W] in [0,255]. */
export interface PlanarImage {
  data: Float32Array;
  height: number;
  width: number;
}

/** One session input per scale: the scaled image and (if flipping) its mirror as a batch of 2. */
export function viewInputs(img: PlanarImage, o: MultiScaleOptions): { scale: number; input: FloatTensor }[] {
  return o.scales.map((s) => {
    const [h, w] = scaledSize(img.height, img.width, s);
    if (h < 1 || w < 1) throw new Error(`scale ${s} makes a ${img.height}×${img.width} image empty`);
    // The scaled image goes straight into the batch buffer, its mirror right after it.
    const n = 3 * h * w;
    const batch = new Float32Array(o.flip ? 2 * n : n);
    // Antialiased when shrinking (as PIL, which the reference repos resize with), bilinear up.
    if (s === 1) batch.set(img.data.subarray(0, n));
    else if (s < 1) batch.set(resizePlanesAntialiased(img.data, 3, img.height, img.width, h, w));
    else resizeBilinearInto(img.data, 3, img.height, img.width, h, w, false, batch, 0, false);
    if (o.flip) flipWidthInto(batch, 0, batch, n, 3, h, w);
    return { scale: s, input: { data: batch, dims: [o.flip ? 2 : 1, 3, h, w] } };
  });
}

/** A batch of 2 from one [c, h, w] image: the image, then its horizontal mirror. */
export function withFlippedTwin(img: Float32Array, c: number, h: number, w: number): FloatTensor {
  const n = c * h * w;
  const batch = new Float32Array(2 * n);
  batch.set(img.subarray(0, n), 0);
  flipWidthInto(batch, 0, batch, n, c, h, w);
  return { data: batch, dims: [2, c, h, w] };
}

/** The views of one session output [n, C, h, w] (n = 1, or 2 with the flipped twin second). */
export function viewsOfOutput(t: FloatTensor, scale: number): CamView[] {
  const [n, c, h, w] = t.dims;
  const size = c * h * w;
  return Array.from({ length: n }, (_, i) => ({ data: t.data.subarray(i * size, (i + 1) * size), channels: c, h, w, scale, flipped: i === 1 }));
}

export interface ImageCams {
  /** Merged CAMs of every foreground class [C, H, W], each divided by (max + normEps). */
  cams: Float32Array;
  classes: number;
  height: number;
  width: number;
  /** Image-level class probabilities: max over views of sigmoid(score). */
  probabilities: Float32Array;
  /** With MultiScaleOptions.stridedOutput: the same merge at the strided size, normalised alike. */
  strided?: { cams: Float32Array; height: number; width: number };
}

/** One scale's session outputs for an image: raw_cams [n, C, h, w] (n = 2 with the flipped twin) and scores [n, C]. */
export interface ScaleOutput {
  scale: number;
  rawCams: FloatTensor;
  scores?: FloatTensor;
}

/**
 * Runs the model (`run`) on every view input of an image (viewInputs), one after the other.
 * `maps` names the output merged over the views: 'raw_cams' (CAM models) or 'masks' (1-Stage).
 */
export async function runScaleViews(run: (input: FloatTensor) => Promise<Record<string, FloatTensor>>, views: { scale: number; input: FloatTensor }[], maps = 'raw_cams'): Promise<ScaleOutput[]> {
  const outputs: ScaleOutput[] = [];
  for (const { scale, input } of views) {
    const out = await run(input);
    if (!out[maps]) throw new Error(`the model has no '${maps}' output; its multi-scale labelling needs it`);
    outputs.push({ scale, rawCams: out[maps], scores: out.scores });
  }
  return outputs;
}

/** Run every view of an image through `run` and merge them. */
export async function multiScaleCams(run: (input: FloatTensor) => Promise<Record<string, FloatTensor>>, img: PlanarImage, o: MultiScaleOptions): Promise<ImageCams> {
  return mergeImageCams(await runScaleViews(run, viewInputs(img, o)), img.height, img.width, o);
}

/**
 * The second half of multiScaleCams: merges the session outputs of every scale of an image of
 * height×width. Separate so a batch pipeline can run the model in one thread and merge in another.
 */
export function mergeImageCams(outputs: ScaleOutput[], height: number, width: number, o: MultiScaleOptions): ImageCams {
  const views: CamView[] = [];
  let probabilities: Float32Array | null = null;
  for (const { scale, rawCams, scores } of outputs) {
    views.push(...viewsOfOutput(rawCams, scale));
    if (scores) {
      const c = scores.dims[1];
      probabilities ??= new Float32Array(c);
      for (let i = 0; i < scores.data.length; i++) probabilities[i % c] = Math.max(probabilities[i % c], 1 / (1 + Math.exp(-scores.data[i])));
    }
  }
  if (!views.length) throw new Error('mergeImageCams: no views');
  const classes = views[0].channels;
  const hw = height * width;
  const eps = o.normEps ?? 1e-5;
  const cams = normaliseByMax(mergeViews(views, height, width, o.rule), classes, hw, eps);
  const result: ImageCams = { cams, classes, height, width, probabilities: probabilities ?? new Float32Array(classes).fill(1) };
  if (o.stridedOutput) {
    const s = o.stridedOutput;
    const sh = Math.floor((height - 1) / s) + 1;
    const sw = Math.floor((width - 1) / s) + 1;
    result.strided = { cams: normaliseByMax(mergeViews(views, sh, sw, o.rule), classes, sh * sw, eps), height: sh, width: sw };
  }
  return result;
}

/**
 * Label map from merged CAMs: background where no kept class beats `bgThreshold`. Kept
 * classes are the image's labels when given, otherwise every class.
 */
export function camLabelMap(c: ImageCams, bgThreshold: number, keep?: number[]): Uint8Array {
  const keys = keep ?? Array.from({ length: c.classes }, (_, i) => i);
  const hw = c.height * c.width;
  return labelMapWithBackground(selectChannels(c.cams, c.classes, hw, keys), keys, hw, bgThreshold);
}
