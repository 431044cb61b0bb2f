// Golden adapter: EDAM's CMA training forward (graphs/methods/edam/cma.ts, SPEC.md §3.3) on the
// vector's trunk features: the DA layer, the class-specific maps d_d(F) ⊙ M_k of the slots
// `label_idx`, one pair through the slot classes' transformers, per-image scores and the BCE.
// The class list, widths and the token grid are static, so the graph is built for the vector and
// runs through an interpreter (the exported ONNX, or tfjs) in eval mode (dropout off).
// The module's scores come grouped by class (ascending), [img0, img1] each; the vector's are
// image-major [img0 slot0..S-1, img1 slot0..S-1]: reordered here by the entries the module reports.

import { DaLayer } from '../../../graphs/edam/da-layer.ts';
import type { GraphDef } from '../../../graphs/graph.ts';
import { CollaborativeMultiAttention, type CmaEntry } from '../../../graphs/methods/edam/cma.ts';
import { multilabelSoftMargin } from '../../../graphs/losses/multilabel-soft-margin.ts';
import { initialiseAll, Module } from '../../../graphs/module.ts';
import { forwardAll, tensorOf, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

class DaAndCma extends Module {
  readonly maskLayer: DaLayer;
  readonly cma: CollaborativeMultiAttention;
  constructor(inChannels: number, numClasses: number, dim: number, heads: number, ffHidden: number, pool: number) {
    super();
    this.maskLayer = this.child('mask_layer', new DaLayer(inChannels, numClasses + 1));
    this.cma = this.child('cma', new CollaborativeMultiAttention({ inChannels, numClasses, dim, attention: true, heads, layers: 1, ffHidden, dropout: 0.1, pool }));
  }
}

export interface CmaGolden {
  graph: GraphDef;
  module: DaAndCma;
  /** What each column of the graph's `scores` output scores (filled when the graph runs). */
  entries: CmaEntry[];
}

/** The DA layer + CMA on one pair [2, F, h, w] with the given slot classes, as a graph. */
export function cmaGraph(o: { inChannels: number; numClasses: number; dim: number; heads: number; ffHidden: number; slots: number[]; h: number; w: number; pool?: number }): CmaGolden {
  const module = new DaAndCma(o.inChannels, o.numClasses, o.dim, o.heads, o.ffHidden, o.pool ?? 1).finalise();
  const golden: CmaGolden = { graph: null as unknown as GraphDef, module, entries: [] };
  golden.graph = {
    name: 'edam-cma-golden',
    method: 'edam',
    module,
    inputs: [
      { name: 'features', channels: o.inChannels, meaning: 'trunk features of one pair [2, F, h, w]' },
      { name: 'targets', channels: 2 * o.slots.length, meaning: '0/1 targets [1, T, 1, 1] in the scores’ column order' },
    ],
    outputs: [
      { name: 'scores', meaning: 'CMA scores [1, T], grouped by class' },
      { name: 'class_specific_maps', meaning: '[2, S, d, h, w]' },
      { name: 'loss', meaning: 'BCE with logits, mean' },
    ],
    classNames: Array.from({ length: o.numClasses }, (_, i) => `class${i + 1}`),
    normalisation: null,
    inputConvention: 'float32 NCHW features',
    outputStride: 1,
    inference(ops, inputs) {
      const masks = module.maskLayer.forward(ops, inputs.features);
      const { scores, entries } = module.cma.pairScores(ops, inputs.features, masks, [o.slots], o.h, o.w);
      golden.entries = entries;
      const reduced = module.cma.reduced(ops, inputs.features);
      const maps = o.slots.map((k) => ops.reshape(module.cma.classSpecificMap(ops, reduced, masks, k), [2, 1, o.dim, o.h, o.w]));
      return { scores, class_specific_maps: ops.concat(maps, 1), loss: multilabelSoftMargin(ops, scores, ops.reshape(inputs.targets, [1, -1])) };
    },
  };
  return golden;
}

export async function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const features = tensorOf(v.inputs.features);
  const [n, inChannels, h, w] = features.shape;
  const slots = Array.from(v.inputs.label_idx.data);
  const s = slots.length;
  const dim = v.params.hidden as number;
  const numMasks = v.inputs['mask_layer.weight'].shape[0];
  const g = cmaGraph({ inChannels, numClasses: numMasks - 1, dim, heads: v.params.heads as number, ffHidden: v.params.ff_hidden as number, slots, h, w });
  // Every parameter the vector has, by its official name (ours: the CMA's under 'cma.'); the
  // transformers of classes outside the slots are never run and keep initial values.
  const values = initialiseAll(g.module, 0);
  for (const p of g.module.parameters()) {
    const official = p.name.startsWith('cma.') ? p.name.slice(4) : p.name;
    if (v.inputs[official]) values.set(p.name, tensorOf(v.inputs[official]));
  }
  // The graph's score columns in order (classes ascending, [img0, img1] each), so targets follow them.
  const order = [...new Set(slots)].sort((a, b) => a - b).flatMap((k) => [0, 1].map((j) => j * s + slots.indexOf(k)));
  const targets = Float32Array.from(order, (i) => v.inputs.targets.data[i]);
  const [out] = await forwardAll(g.graph, values, [{ features: { dims: features.shape, data: features.data }, targets: { dims: [1, order.length, 1, 1], data: targets } }], via);
  if (g.entries.length !== order.length || g.entries.some((e, i) => e.image * s + slots.indexOf(e.cls) !== order[i])) throw new Error('edam_cma: the module scored other columns than expected');
  const scores = new Float32Array(n * s);
  order.forEach((i, col) => (scores[i] = out.scores.data[col]));
  return {
    scores: { shape: [n * s], data: scores },
    class_specific_maps: { shape: out.class_specific_maps.dims, data: out.class_specific_maps.data },
    loss_bce: { shape: [], data: out.loss.data },
  };
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
