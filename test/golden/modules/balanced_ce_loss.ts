// Golden adapter: 1-Stage class-balanced cross-entropy (graphs/losses/balanced-ce.ts, SPEC.md §1.5).
import { balancedCrossEntropyPerImage } from '../../../graphs/losses/balanced-ce.ts';
import type { Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { runFunctionGraph } from './onestage-graph.ts';

export function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  return runFunctionGraph(v, via, ['mask_logits', 'pseudo_gt', 'labels'], ['loss_per_image', 'loss_mean'], (ops, i) => {
    const perImage = balancedCrossEntropyPerImage(ops, i.mask_logits, i.pseudo_gt, i.labels);
    return { loss_per_image: perImage, loss_mean: ops.reduceMean(perImage, [0]) };
  });
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
