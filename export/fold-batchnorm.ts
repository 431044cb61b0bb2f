// Graph pass: fold inference-mode BatchNormalization into the Conv that feeds it.
//
// BN(conv(x)) = s·(W∗x + b − μ) + β with s = γ/√(σ² + ε) per output channel, which is a single
// conv with W' = s·W and b' = s·(b − μ) + β. Folding removes a full pass over the feature map
// per block at inference. It applies only where it is exact and safe: the conv output feeds the
// BN alone (and is not a graph output), and every tensor involved is an initializer.

import type { Initializer, OnnxGraph } from './onnx-graph.ts';

/** Folds every eligible Conv → BatchNormalization pair in place; returns how many were folded. */
export function foldBatchNorm(g: OnnxGraph): number {
  const consumers = g.consumerCounts();
  const producers = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producers.set(o, i)));
  const floatInit = (name: string | undefined): Initializer | undefined => {
    const init = name ? g.initializers.get(name) : undefined;
    return init && init.dtype === 'float32' && init.data instanceof Float32Array ? init : undefined;
  };
  const removed = new Set<number>();
  let folded = 0;

  g.nodes.forEach((bn, bnIndex) => {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1) return;
    const convIndex = producers.get(bn.inputs[0]);
    if (convIndex === undefined || removed.has(convIndex)) return;
    const conv = g.nodes[convIndex];
    if (conv.opType !== 'Conv' || conv.outputs.length !== 1 || consumers.get(bn.inputs[0]) !== 1) return;
    const w = floatInit(conv.inputs[1]);
    const b = conv.inputs[2] ? floatInit(conv.inputs[2]) : undefined;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map(floatInit);
    if (!w || (conv.inputs[2] && !b) || !gamma || !beta || !mean || !variance) return;
    const eps = 'epsilon' in bn.attrs && 'float' in bn.attrs.epsilon ? bn.attrs.epsilon.float : 1e-5;
    const cout = w.dims[0];
    const perOut = w.data!.length / cout;

    const scale = new Float64Array(cout);
    const bias = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const s = (gamma.data![c] as number) / Math.sqrt((variance.data![c] as number) + eps);
      scale[c] = s;
      const b0 = b ? (b.data![c] as number) : 0;
      bias[c] = s * (b0 - (mean.data![c] as number)) + (beta.data![c] as number);
    }
    const wNew = new Float32Array(w.data!.length);
    for (let c = 0; c < cout; c++) for (let i = 0; i < perOut; i++) wNew[c * perOut + i] = (w.data![c * perOut + i] as number) * scale[c];

    // Rewrite in place when this conv is the only reader; otherwise the folded values get new names.
    const replace = (old: Initializer | undefined, data: Float32Array, dims: number[], suffix: string): string => {
      if (old && consumers.get(old.name) === 1) {
        old.data = data;
        delete old.param;
        return old.name;
      }
      return g.addInitializer(`${conv.name}.${suffix}`, 'float32', dims, data);
    };
    conv.inputs[1] = replace(w, wNew, w.dims, 'weight');
    conv.inputs[2] = replace(b, bias, [cout], 'bias');
    conv.outputs = [bn.outputs[0]];
    removed.add(bnIndex);
    folded++;
  });

  const kept = g.nodes.filter((_, i) => !removed.has(i));
  g.nodes.length = 0;
  g.nodes.push(...kept);
  g.prune();
  return folded;
}
