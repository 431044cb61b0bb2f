// Golden adapter for `miou.json`: the confusion matrix and each reference repo's averaging rule
// (SPEC §4), all computed by runtime/metrics from the file's label maps.

import { ConfusionMatrix } from '../../../runtime/metrics/confusion.ts';
import { classCounts, iouPerClass, iouPerClassClamped, meanOver, segmentationScores } from '../../../runtime/metrics/miou.ts';
import type { GoldenImpl, ImplOutputs } from '../vector.ts';

export const run: GoldenImpl = (v) => {
  const n = Number(v.params.num_classes);
  const conf = new ConfusionMatrix(n);
  conf.add(v.inputs.gt.data, v.inputs.pred.data);
  const counts = classCounts(conf);
  const all = Array<boolean>(n).fill(true);
  const fg = all.map((_, c) => c > 0);
  const inGt = counts.map((c) => c.gtPixels > 0);

  // 1-Stage eval_seg: +1e-20 guard, percent; "mIoU" = classes 1..n-1, "with background" = all.
  const evalSeg = iouPerClass(conf, 1e-20).map((x) => x * 100);
  // VWE scores: no guard (0/0 = NaN, stored as -1 in the vector), mean over classes with GT pixels.
  const vwe = iouPerClass(conf, 0);
  const edam = iouPerClass(conf, 1e-10);
  // What `wsss eval` reports: its all-classes and GT-classes means and pixel accuracy must equal
  // EDAM's and VWE's figures (the guards change nothing when counts are whole pixels).
  const ours = segmentationScores(conf);
  const vec = (a: number[]) => ({ shape: [a.length], data: a });
  const scalar = (x: number) => ({ shape: [], data: [x] });
  const out: ImplOutputs = {
    confusion: { shape: [n, n], data: conf.counts },
    iou_1stage_evalseg_percent: vec(evalSeg),
    miou_1stage_evalseg_fg_percent: scalar(meanOver(evalSeg, fg)),
    miou_1stage_evalseg_with_bg_percent: scalar(meanOver(evalSeg, all)),
    jaccard_1stage_compute_jaccard: vec(iouPerClassClamped(conf, 1e-3)),
    iou_vwe_scores_nan_as_minus1: vec(vwe.map((x) => (Number.isNaN(x) ? -1 : x))),
    miou_vwe_scores: scalar(ours.miouGtClasses),
    pixel_acc_vwe_scores: scalar(ours.pixelAccuracy),
    iou_edam_eval: vec(edam),
    miou_edam_eval: scalar(ours.miouAllClasses),
    classes_with_gt_pixels: vec(inGt.map(Number)),
  };
  return out;
};
