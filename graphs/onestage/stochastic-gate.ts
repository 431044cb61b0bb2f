// The Stochastic Gate (1-stage-wseg models/mods/sg.py, SPEC.md §1.6) between the deep features x1
// and the GCI features x2, ψ = 0.3. Training mixes them per element with a Bernoulli(1 − ψ) mask m:
// m·(x1 − ψ·x2)/(1 − ψ) + (1 − m)·x2, whose expectation is x1 alone; inference takes the
// deterministic (1 − ψ)·x1 + ψ·x2, so an exported model never samples.

import type { Ops, Tensor } from '../ops.ts';

/** `SG_PSI` of the 1-Stage config. */
export const SG_PSI = 0.3;

/** The training form with a given 0/1 mask (the golden vector provides one). */
export function stochasticGateWithMask(ops: Ops, x1: Tensor, x2: Tensor, mask: Tensor, psi = SG_PSI): Tensor {
  const x1s = ops.div(ops.sub(x1, ops.mul(x2, psi)), Math.max(1e-8, 1 - psi));
  return ops.add(ops.mul(mask, x1s), ops.mul(ops.sub(1, mask), x2));
}

/** The inference form. */
export function stochasticGateInference(ops: Ops, x1: Tensor, x2: Tensor, psi = SG_PSI): Tensor {
  return ops.add(ops.mul(x1, 1 - psi), ops.mul(x2, psi));
}

/** Training: a fresh mask from the interpreter's seeded stream; otherwise the inference form. */
export function stochasticGate(ops: Ops, x1: Tensor, x2: Tensor, psi = SG_PSI): Tensor {
  return ops.training ? stochasticGateWithMask(ops, x1, x2, ops.bernoulli(x1, 1 - psi), psi) : stochasticGateInference(ops, x1, x2, psi);
}
