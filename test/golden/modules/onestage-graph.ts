// A parameter-free GraphDef around a function of named inputs, for the 1-Stage golden adapters
// (nGWP, pseudo-GT, balanced CE, the training forward after the decoder). Image-level labels
// [N, K] travel as [N, K, 1, 1] graph inputs (exported inputs are rank 4) and are reshaped back.

import type { GraphDef } from '../../../graphs/graph.ts';
import { Module, type ParamValues } from '../../../graphs/module.ts';
import type { Ops, Tensor } from '../../../graphs/ops.ts';
import { forwardAll, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenVector, ImplOutputs } from '../vector.ts';

class NoParameters extends Module {}

export async function runFunctionGraph(
  v: GoldenVector,
  via: Interpreter,
  inputNames: string[],
  outputs: string[],
  fn: (ops: Ops, inputs: Record<string, Tensor>) => Record<string, Tensor>,
  module: Module = new NoParameters().finalise(),
  values: ParamValues = new Map(),
): Promise<ImplOutputs> {
  const tensors = Object.fromEntries(inputNames.map((n) => [n, tensorOf(v.inputs[n])]));
  const asRank4 = (shape: number[]) => (shape.length === 2 ? [...shape, 1, 1] : shape);
  const graph: GraphDef = {
    name: `${v.module}-golden`,
    method: 'onestage',
    module,
    inputs: inputNames.map((n) => ({ name: n, channels: asRank4(tensors[n].shape)[1], meaning: n })),
    outputs: outputs.map((n) => ({ name: n, meaning: n })),
    classNames: [],
    normalisation: null,
    inputConvention: 'float32 NCHW',
    outputStride: 1,
    inference(ops, inputs) {
      const named = Object.fromEntries(inputNames.map((n) => [n, tensors[n].shape.length === 2 ? ops.reshape(inputs[n], [0, -1]) : inputs[n]]));
      return fn(ops, named);
    },
  };
  const feed = Object.fromEntries(inputNames.map((n) => [n, { dims: asRank4(tensors[n].shape), data: tensors[n].data }]));
  const [out] = await forwardAll(graph, values, [feed], via);
  // Outputs take the vector's shapes (a [N] loss may come back as [N] or [N, 1, …]; same data).
  return Object.fromEntries(outputs.map((n) => [n, { shape: v.outputs[n].shape.length === out[n].data.length || v.outputs[n].shape.reduce((a, b) => a * b, 1) === out[n].data.length ? v.outputs[n].shape : out[n].dims, data: out[n].data }]));
}
