// The segmentation pipeline every front end shares: pixels → preprocess → model → label map.
// The Node server, `wsss` commands and the browser demo all call segmentPixels, so a page and a
// server given the same pixels and model produce the same labels (up to the EP's arithmetic).

import { oneStageImageLabels } from './cam/onestage-merge.ts';
import { camRuleBgThreshold, oneStageMaskRule } from './cam/label-rule.ts';
import { OUTPUT_NAMES } from './model-metadata.ts';
import { chooseLabelRule, imagePlanes, labelsFromMaps, type LabelMap, type LabelRule } from './postprocess.ts';
import { preprocessImage, type PixelImage } from './preprocess.ts';
import type { FloatTensor, OpenModel } from './session.ts';

export interface SegmentOptions {
  /** Background threshold for CAM models (max-normalised CAMs in [0, 1]); default: the model's label rule's, else 0.15. */
  bgThreshold?: number;
  /** Shrink the image so its longer side is at most this (0 = keep its size). */
  maxSide?: number;
  /** Override the rule chosen from the model's outputs. */
  rule?: LabelRule;
}

export interface Segmentation {
  /** Labels at the processed image's size: 0 = background, class i → i + 1. */
  labels: LabelMap;
  rule: LabelRule;
  /** The image the model saw (RGBA, after any shrinking): what an overlay goes on. */
  processedPixels: PixelImage;
  /** Per-class CAMs [C, h, w] of the image when the model outputs them. */
  cams: { data: Float32Array; classes: number; height: number; width: number } | null;
  /** Image-level class scores [C] when the model outputs them. */
  scores: Float32Array | null;
  /** All raw outputs. */
  outputs: Record<string, FloatTensor>;
  /** Milliseconds: preprocessing, the model run, postprocessing. */
  timings: { preprocessMs: number; inferenceMs: number; postprocessMs: number };
}

/** The name of the model input the image goes into: the only input, or the one named 'image'. */
export function imageInputName(model: Pick<OpenModel, 'inputNames'>, source = 'model'): string {
  if (model.inputNames.length === 1) return model.inputNames[0];
  if (model.inputNames.includes('image')) {
    const others = model.inputNames.filter((n) => n !== 'image');
    throw new Error(`model ${source} needs inputs besides the image (${others.join(', ')}); segmentPixels cannot supply them`);
  }
  throw new Error(`model ${source} has inputs ${model.inputNames.join(', ')}; expected one image input`);
}

export async function segmentPixels(model: OpenModel, image: PixelImage, options: SegmentOptions = {}): Promise<Segmentation> {
  const t0 = performance.now();
  const { tensor, processedPixels } = preprocessImage(image, { maxSide: options.maxSide });
  const rule = options.rule ?? chooseLabelRule(model.metadata);
  const inputName = imageInputName(model, model.metadata.graph);
  const t1 = performance.now();
  const outputs = await model.run({ [inputName]: { data: tensor.data, dims: [...tensor.dims] } });
  const t2 = performance.now();
  const ruleOutput = outputs[rule.output];
  if (!ruleOutput) throw new Error(`model ${model.metadata.graph} returned no '${rule.output}' output`);
  const maps = imagePlanes(ruleOutput, 0);
  let labels: LabelMap;
  if (rule.kind === 'onestage-masks') {
    // 1-Stage, one view: classes whose sigmoid score passes the cut, background^bg_pow, argmax.
    const scores = outputs[OUTPUT_NAMES.scores];
    const r = oneStageMaskRule(model.metadata.labelRule, model.metadata.graph) ?? { bgPow: 3, fpCut: 0.1 };
    const view = { scale: 1, rawCams: { data: maps.data, dims: [1, maps.channels, maps.height, maps.width] }, scores: scores && { data: scores.data.subarray(0, scores.dims[1]), dims: [1, scores.dims[1]] } };
    const { pred } = oneStageImageLabels([view], tensor.height, tensor.width, r);
    labels = { data: pred, width: tensor.width, height: tensor.height };
  } else
    labels = labelsFromMaps(maps.data, maps.channels, maps.height, maps.width, rule.kind, {
      bgThreshold: options.bgThreshold ?? camRuleBgThreshold(model.metadata.labelRule, model.metadata.graph),
      outWidth: tensor.width,
      outHeight: tensor.height,
    });
  const camOut = outputs[OUTPUT_NAMES.cams];
  const camPlanes = camOut ? imagePlanes(camOut, 0) : null;
  const scoresOut = outputs[OUTPUT_NAMES.scores];
  const t3 = performance.now();
  return {
    labels,
    rule,
    processedPixels,
    cams: camPlanes ? { data: camPlanes.data, classes: camPlanes.channels, height: camPlanes.height, width: camPlanes.width } : null,
    scores: scoresOut ? scoresOut.data.subarray(0, scoresOut.dims[1] ?? scoresOut.data.length) : null,
    outputs,
    timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: t3 - t2 },
  };
}
