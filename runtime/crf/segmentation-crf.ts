// The dense CRF after `segmentPixels` (wsss segment --crf, the web demo's toggle): the same
// refinement in Node and the browser, so both give the same labels.
//   CAM models ('cam-threshold' rule): psa's rule on the CAMs of every class (no image labels
//     here), background (1 − max CAM)^α;
//   segmentation models ('argmax' rule): the CRF on the output's probabilities (softmax of
//     'logits'; 'masks' are probabilities already).

import { OUTPUT_NAMES } from '../model-metadata.ts';
import type { LabelMap } from '../postprocess.ts';
import { resizeBilinearCHW } from '../resize.ts';
import type { Segmentation } from '../segment.ts';
import { camCrfLabels } from './cam-crf.ts';
import { denseCrfLabels, type CrfEngine } from './dense-crf.ts';
import type { CrfParams } from './params.ts';

export interface SegmentationCrfOptions {
  params: CrfParams;
  /** background exponent for CAM models */
  alpha: number;
  threads?: number;
}

/** Softmax over channels of [C, n] maps, in place. */
function softmaxChannels(m: Float32Array, channels: number, n: number): void {
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let c = 0; c < channels; c++) mx = Math.max(mx, m[c * n + i]);
    let s = 0;
    for (let c = 0; c < channels; c++) s += m[c * n + i] = Math.exp(m[c * n + i] - mx);
    for (let c = 0; c < channels; c++) m[c * n + i] /= s;
  }
}

/** CRF-refined labels of a segmentation (same size as seg.labels). */
export function crfRefineSegmentation(engine: CrfEngine, seg: Segmentation, o: SegmentationCrfOptions): LabelMap {
  const { width, height } = seg.labels;
  const image = seg.processedPixels;
  if (seg.rule.kind === 'cam-threshold') {
    if (!seg.cams) throw new Error('the model gave no CAMs to refine');
    const c = seg.cams;
    const cams = resizeBilinearCHW(c.data, c.classes, c.height, c.width, height, width, false);
    return { data: camCrfLabels(engine, image, cams, c.classes, undefined, { params: o.params, alpha: o.alpha, threads: o.threads }), width, height };
  }
  const out = seg.outputs[seg.rule.output];
  const channels = out.dims[1];
  const [h, w] = [out.dims[2], out.dims[3]];
  const maps = resizeBilinearCHW(out.data.subarray(0, channels * h * w), channels, h, w, height, width, false);
  if (seg.rule.output !== OUTPUT_NAMES.masks) softmaxChannels(maps, channels, width * height);
  return { data: denseCrfLabels(engine, image, { data: maps, dims: [channels, height, width] }, o.params, { threads: o.threads }), width, height };
}
