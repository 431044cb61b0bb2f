// Golden adapter: the VWE network's heads and losses (graphs/methods/vwe/model.ts, SPEC.md §2.3)
// on the vector's features, through an interpreter: VweNet itself over a stand-in backbone that
// hands the features through, with the official code's settings (summed word frequencies,
// image-branch CAM, HSPP γ from the file, v2's decorrelation term on so that it is computed).

import { Backbone, type StageInfo, type StageSink } from '../../../graphs/backbones/backbone.ts';
import type { GraphDef } from '../../../graphs/graph.ts';
import type { Ops, Tensor } from '../../../graphs/ops.ts';
import { VweNet } from '../../../graphs/methods/vwe/model.ts';
import { forwardAll, paramsFromVector, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

/** The vector's "backbone stages replaced by identity": the input is the final feature map. */
class FeaturesThrough extends Backbone {
  readonly arch = 'features';
  readonly outputStride = 1;
  readonly stages: StageInfo[];
  constructor(channels: number) {
    super();
    this.stages = [{ name: 'features', channels, stride: 1, meaning: 'the input features' }];
  }
  protected run(_ops: Ops, x: Tensor, sink: StageSink): void {
    sink.emit('features', x);
  }
}

const OUTPUTS = ['cls_logits', 'hist_logits', 'word_logits', 'word_labels', 'cam', 'loss1_cls', 'loss2_hist', 'loss3_word', 'loss_decov_v2', 'loss_entropy_v2'];

export function netGraph(d: number, classes: number, k: number, gamma: number): GraphDef {
  const cfg = { words: true, wordCount: k, frequency: 'sum' as const, hspp: true, hsppGamma: gamma, cam: 'image' as const, w2iWeight: 1, wordWeight: 1, decovWeight: 1 };
  const net = new VweNet(new FeaturesThrough(d).finalise(), classes, cfg).finalise();
  return {
    name: 'vwe-net-golden',
    method: 'vwe',
    module: net,
    inputs: [
      { name: 'features', channels: d, meaning: 'backbone features (stub)' },
      { name: 'labels', channels: classes, meaning: 'image labels [N, C, 1, 1]' },
    ],
    outputs: OUTPUTS.map((name) => ({ name, meaning: name })),
    classNames: Array.from({ length: classes }, (_, i) => `class${i}`),
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference(ops, inputs) {
      const f = inputs.features;
      const b = net.branches(ops, f);
      const { losses, logs } = net.losses(ops, b, ops.reshape(inputs.labels, [0, -1]));
      return {
        cls_logits: b.scores,
        hist_logits: b.words!.histLogits,
        word_logits: b.words!.wordLogits,
        word_labels: b.words!.encoding.labels,
        cam: net.rawCams(ops, f),
        loss1_cls: losses.cls,
        loss2_hist: losses.w2i,
        loss3_word: losses.word,
        loss_decov_v2: losses.decov,
        loss_entropy_v2: logs!.word_entropy,
      };
    },
  };
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const features = tensorOf(v.inputs.features);
  const labels = tensorOf(v.inputs.labels);
  const [classes, d] = v.inputs['classifier.weight'].shape;
  const [k] = v.inputs.codebook.shape;
  const graph = netGraph(d, classes, k, v.params.hspp_gamma as number);
  const values = paramsFromVector(v, { 'head.classifier.weight': 'classifier.weight', 'w2i.weight': 'fc_a.weight', 'word_classifier.weight': 'fc_b.weight', 'words.codebook': 'codebook' });
  const feed = { features: { dims: features.shape, data: features.data }, labels: { dims: [labels.shape[0], labels.shape[1], 1, 1], data: labels.data } };
  const [out] = await forwardAll(graph, values, [feed], via);
  return Object.fromEntries(OUTPUTS.map((name) => [name, { shape: out[name].dims, data: out[name].data }]));
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
