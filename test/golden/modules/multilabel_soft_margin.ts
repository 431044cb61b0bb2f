// Golden adapter: the multilabel soft-margin loss of graphs/losses (what methods' training
// forwards return), as a graph through an interpreter. Logits and targets enter as [N, C, 1, 1]
// (graph inputs are NCHW) and are flattened to [N, C] inside.

import type { GraphDef } from '../../../graphs/graph.ts';
import { multilabelSoftMargin, multilabelSoftMarginPerSample } from '../../../graphs/losses/multilabel-soft-margin.ts';
import { Module } from '../../../graphs/module.ts';
import { forwardAll, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

class NoParameters extends Module {}

export function lossGraph(numClasses: number): GraphDef {
  return {
    name: 'multilabel-soft-margin-golden',
    method: 'loss',
    module: new NoParameters().finalise(),
    inputs: [
      { name: 'logits', channels: numClasses, meaning: 'class logits [N, C, 1, 1]' },
      { name: 'targets', channels: numClasses, meaning: '0/1 targets [N, C, 1, 1]' },
    ],
    outputs: [
      { name: 'loss', meaning: 'batch mean' },
      { name: 'loss_per_sample', meaning: '[N]' },
    ],
    classNames: [],
    normalisation: null,
    inputConvention: 'float32',
    outputStride: 1,
    inference(ops, inputs) {
      const y = ops.reshape(inputs.logits, [0, -1]);
      const t = ops.reshape(inputs.targets, [0, -1]);
      return { loss: multilabelSoftMargin(ops, y, t), loss_per_sample: multilabelSoftMarginPerSample(ops, y, t) };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const { logits, targets } = v.inputs;
  const [n, c] = logits.shape;
  const feed = (t: typeof logits) => ({ dims: [n, c, 1, 1], data: Float32Array.from(t.data) });
  const [out] = await forwardAll(lossGraph(c), new Map(), [{ logits: feed(logits), targets: feed(targets) }], via);
  return {
    loss: { shape: [], data: out.loss.data },
    loss_per_sample: { shape: out.loss_per_sample.dims, data: out.loss_per_sample.data },
    // Equal to the loss when every sample has the same number of classes (SPEC §1.7).
    bce_with_logits_mean: { shape: [], data: out.loss.data },
  };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
