// Golden adapter: 1-Stage's training forward after the decoder (graphs/methods/onestage/model.ts's
// pieces, SPEC.md §1.2–1.5): masks and scores, PAMR on the image resized to the logits, cleaned
// masks, pseudo-GT and the per-image balanced CE.
import { keepLabelledClasses, labelledMaskArea, maskScores } from '../../../graphs/methods/onestage/masks.ts';
import { pseudoGroundTruth } from '../../../graphs/methods/onestage/pseudo-gt.ts';
import { balancedCrossEntropyPerImage } from '../../../graphs/losses/balanced-ce.ts';
import { pamr } from '../../../graphs/onestage/pamr.ts';
import type { Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { runFunctionGraph } from './onestage-graph.ts';

export function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const channels = v.inputs.logits_fg.shape[1] + 1;
  const outputs = ['class_scores', 'cls_fg', 'mask_logits', 'cam_masks', 'pamr_masks', 'pseudo_gt', 'loss_mask'];
  return runFunctionGraph(v, via, ['logits_fg', 'image_raw', 'labels'], outputs, (ops, i) => {
    const o = maskScores(ops, i.logits_fg);
    const small = ops.resizeBilinear(i.image_raw, { like: o.masks }, true);
    const refined = pamr(ops, small, o.masks, { dilations: v.params.pamr_dilations as number[], iterations: v.params.pamr_iter as number });
    const pamrMasks = keepLabelledClasses(ops, ops.resizeBilinear(refined, { like: i.image_raw }, true), i.labels);
    const pseudoGt = pseudoGroundTruth(ops, pamrMasks, channels);
    return {
      class_scores: o.scores,
      cls_fg: labelledMaskArea(ops, o.masks, i.labels),
      mask_logits: o.logits,
      cam_masks: keepLabelledClasses(ops, ops.resizeBilinear(o.masks, { like: i.image_raw }, true), i.labels),
      pamr_masks: pamrMasks,
      pseudo_gt: pseudoGt,
      loss_mask: balancedCrossEntropyPerImage(ops, o.logits, pseudoGt, i.labels),
    };
  });
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
