// Golden adapter: hybrid spatial pyramid pooling (graphs/hspp.ts, SPEC.md §2.4) on the vector's
// input, through an interpreter. The exported graph's input has a run-time size, so the ONNX run
// takes the dynamic-kernel path of Ops.gridMaxPool. γ and the levels come from the file.

import type { GraphDef } from '../../../graphs/graph.ts';
import { hspp } from '../../../graphs/hspp.ts';
import { Module } from '../../../graphs/module.ts';
import { forwardAll, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

class NoParameters extends Module {}

export function hsppGraph(channels: number, gamma?: number, levels?: number[]): GraphDef {
  return {
    name: 'hspp-golden',
    method: 'vwe',
    module: new NoParameters().finalise(),
    inputs: [{ name: 'x', channels, meaning: 'feature map [N, D, H, W]' }],
    outputs: [{ name: 'pooled', meaning: 'HSPP [N, D, 1, 1]' }],
    classNames: [],
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference: (ops, inputs) => ({ pooled: hspp(ops, inputs.x, gamma, levels) }),
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const x = tensorOf(v.inputs.x);
  const graph = hsppGraph(x.shape[1], v.params.gamma as number, v.params.levels as number[]);
  const [out] = await forwardAll(graph, new Map(), [{ x: { dims: x.shape, data: x.data } }], via);
  return { pooled: { shape: out.pooled.dims, data: out.pooled.data } };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
