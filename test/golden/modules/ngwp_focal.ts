// Golden adapter: 1-Stage masks, nGWP and focal penalty (graphs/methods/onestage/masks.ts, SPEC.md §1.2).
import { maskScores } from '../../../graphs/methods/onestage/masks.ts';
import type { Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { runFunctionGraph } from './onestage-graph.ts';

export function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  return runFunctionGraph(v, via, ['logits_fg'], ['masks', 'class_scores', 'ngwp_term', 'focal_term'], (ops, i) => {
    const o = maskScores(ops, i.logits_fg);
    return { masks: o.masks, class_scores: o.scores, ngwp_term: o.ngwp, focal_term: o.focal };
  });
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
