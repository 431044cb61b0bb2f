// Golden adapter: Global Cue Injection and the Stochastic Gate (graphs/onestage/gci.ts,
// stochastic-gate.ts, SPEC.md §1.6) at the vector's reduced width, BN in eval mode with the given
// statistics; the training form of the gate with the vector's Bernoulli mask.
import { Module } from '../../../graphs/module.ts';
import { GlobalCueInjection } from '../../../graphs/onestage/gci.ts';
import { stochasticGateInference, stochasticGateWithMask } from '../../../graphs/onestage/stochastic-gate.ts';
import { paramsFromVector, type Interpreter } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';
import { runFunctionGraph } from './onestage-graph.ts';

class GciOnly extends Module {
  readonly gci: GlobalCueInjection;
  constructor(shallow: number, channels: number) {
    super();
    this.gci = this.child('gci', new GlobalCueInjection(shallow, channels));
  }
}

export function compute(v: GoldenVector, via: Interpreter): Promise<ImplOutputs> {
  const channels = v.inputs.x_deep.shape[1];
  const module = new GciOnly(v.inputs.x_shallow.shape[1], channels).finalise();
  const names = Object.keys(v.inputs).filter((k) => k.startsWith('fc_'));
  const values = paramsFromVector(v, Object.fromEntries(names.map((k) => [`gci.${k}`, k])));
  // fc_skip's BN has no affine parameters in the reference: ours are the frozen identity (1, 0).
  values.set('gci.fc_skip.bn.weight', { shape: [channels], data: new Float32Array(channels).fill(1) });
  values.set('gci.fc_skip.bn.bias', { shape: [channels], data: new Float32Array(channels) });
  const psi = v.params.psi as number;
  return runFunctionGraph(
    v,
    via,
    ['x_shallow', 'x_deep', 'sg_train_mask'],
    ['gci_out', 'sg_eval_out', 'sg_train_out'],
    (ops, i) => {
      const gci = module.gci.forward(ops, i.x_shallow, i.x_deep);
      return { gci_out: gci, sg_eval_out: stochasticGateInference(ops, i.x_deep, gci, psi), sg_train_out: stochasticGateWithMask(ops, i.x_deep, gci, i.sg_train_mask, psi) };
    },
    module,
    values,
  );
}

export const run: GoldenImpl = (v) => compute(v, 'onnx');
