// What the training loop needs of an optimiser (no tfjs at run time here, so the CLI can list the kinds).
// SGD with momentum is what the papers train with (the default); Adam is there for nets trained
// from scratch where SGD is slow to start (the body-cue learnability bench, README).

import type * as tf from '@tensorflow/tfjs-core';
import type { ParamValues } from '../graphs/module.ts';
import type { ParamGroupRule } from './param-groups.ts';

export const OPTIMIZERS = ['sgd', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export interface Optimizer {
  /** Apply one update with base learning rate `lr` to the variables that have a gradient. */
  step(lr: number, variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void;
  /** Everything needed to resume exactly, keyed by the optimiser (saved under "optimizer.<key>"). */
  state(): ParamValues;
  /** Load what `state()` gave; `source` names the file in errors. */
  restore(state: ParamValues, source: string): void;
  dispose(): void;
}

export interface OptimizerOptions {
  /** Default 'sgd'. */
  kind?: OptimizerKind;
  /** SGD momentum (Adam uses its fixed β1 = 0.9). */
  momentum: number;
  weightDecay: number;
  groups?: ParamGroupRule[];
}
