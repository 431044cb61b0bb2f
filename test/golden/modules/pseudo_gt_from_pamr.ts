// Golden adapter: 1-Stage pseudo ground truth (graphs/methods/onestage/pseudo-gt.ts, SPEC.md §1.4);
// label_map = argmax with 255 where no class survives, as the balanced CE reads it.
import { pseudoGroundTruth } from '../../../graphs/methods/onestage/pseudo-gt.ts';
import type { Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { runFunctionGraph } from './onestage-graph.ts';

export function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const channels = v.inputs.masks.shape[1];
  return runFunctionGraph(v, via, ['masks'], ['pseudo_gt', 'label_map'], (ops, i) => {
    const g = pseudoGroundTruth(ops, i.masks, channels);
    // 255 where the row is all zero: argmax + (1 − Σg)·255.
    const ignored = ops.sub(1, ops.reduceSum(g, [1]));
    return { pseudo_gt: g, label_map: ops.add(ops.argmax(g, 1), ops.mul(ignored, 255)) };
  });
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
