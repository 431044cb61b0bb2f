// Golden adapter: VWE's visual-word encoder (graphs/methods/vwe/visual-words.ts, SPEC.md §2.2) on
// the vector's features and codebook, through an interpreter. The vector's frequencies are the
// official code's sum over pixels.

import type { GraphDef } from '../../../graphs/graph.ts';
import { Module } from '../../../graphs/module.ts';
import { VisualWordEncoder } from '../../../graphs/methods/vwe/visual-words.ts';
import { forwardAll, paramsFromVector, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

class EncoderOnly extends Module {
  readonly words: VisualWordEncoder;
  constructor(k: number, d: number) {
    super();
    this.words = this.child('words', new VisualWordEncoder(k, d));
  }
}

export function encoderGraph(k: number, d: number): GraphDef {
  const module = new EncoderOnly(k, d).finalise();
  return {
    name: 'vwe-encoder-golden',
    method: 'vwe',
    module,
    inputs: [{ name: 'features', channels: d, meaning: 'backbone features (stub)' }],
    outputs: ['cosine_similarity', 'assign_probs', 'word_hist', 'word_labels', 'word_index'].map((name) => ({ name, meaning: name })),
    classNames: [],
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference(ops, inputs) {
      const e = module.words.encode(ops, inputs.features, 'sum');
      return {
        cosine_similarity: e.similarity,
        assign_probs: e.assignment,
        word_hist: e.frequency,
        word_labels: e.labels,
        word_index: ops.reshape(e.index, [0, -1]),
      };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const features = tensorOf(v.inputs.features);
  const [k, d] = v.inputs.codebook.shape;
  const values = paramsFromVector(v, { 'words.codebook': 'codebook' });
  const [out] = await forwardAll(encoderGraph(k, d), values, [{ features: { dims: features.shape, data: features.data } }], via);
  const [n, , h, w] = features.shape;
  const result: ImplOutputs = {};
  for (const name of ['cosine_similarity', 'assign_probs', 'word_hist', 'word_labels']) result[name] = { shape: out[name].dims, data: out[name].data };
  result.word_index = { shape: [n, h, w], data: out.word_index.data };
  return result;
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
