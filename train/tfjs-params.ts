// Parameter store of the tfjs interpreter: one tf.Variable per parameter or buffer.
//
// Values come in and go out in PyTorch layouts (ParamValues, conv weights OIHW). Inside, the
// layout rule of train/tfjs-layout.ts applies: rank-4 tensors would be stored NHWC, except that
// rank-4 parameters (conv weights) are stored HWIO — the filter layout of tf.conv2d — converted
// once here rather than on every forward, and marked (markHwio) so the interpreter's conv2d uses
// them directly and other ops know to convert them. Ranks other than 4 are stored as they are.
//
// Variables are created without names: tfjs keeps variable names in one global registry, and
// several stores (a trainer and an evaluator, tests) may hold the same parameter names at once.

import * as tf from '@tensorflow/tfjs-core';
import { checkParamValues, numel, type Module, type ParamValues } from '../graphs/module.ts';
import { STANDARD_TO_HWIO, fromTf, markHwio, toTfLogical } from './tfjs-layout.ts';

/** Names of BN running statistics, treated as buffers when no module says otherwise. */
const BUFFER_NAME = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

export class TfjsParams {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly buffers = new Set<string>();

  /**
   * @param values  values by full name in PyTorch layouts (e.g. initialiseAll(root, seed) or a checkpoint)
   * @param module  the finalised module tree: gives trainable flags and buffer status, and its
   *                parameters must all be present with the right shapes. Without it every tensor
   *                is trainable except names ending in running_mean / running_var / num_batches_tracked.
   * @param source  names the values' origin in errors (e.g. a checkpoint path)
   */
  constructor(values: ParamValues, module?: Module, source = 'parameter values') {
    const specs = new Map(module?.parameters().map((p) => [p.name, p.spec]));
    if (module) checkParamValues(module, values, source, { allowExtra: true });
    for (const [name, v] of values) {
      if (v.data.length !== numel(v.shape))
        throw new Error(`${source}: tensor '${name}' has ${v.data.length} values for shape [${v.shape.join(', ')}]`);
      const spec = specs.get(name);
      const buffer = spec ? spec.buffer : module ? true : BUFFER_NAME.test(name);
      const trainable = spec ? spec.trainable && !spec.buffer : !buffer;
      if (buffer) this.buffers.add(name);
      const stored = tf.tidy(() => toStored(v.data, v.shape));
      const variable = tf.variable(stored, trainable, undefined, 'float32');
      stored.dispose();
      if (v.shape.length === 4) markHwio(variable);
      this.vars.set(name, variable);
    }
  }

  /** Names in insertion order. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** The variable holding `name` (rank-4: HWIO, marked). */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`tfjs parameters: no parameter or buffer named '${name}'`);
    return v;
  }

  isBuffer(name: string): boolean {
    return this.buffers.has(name);
  }

  /** Variables the optimiser should update, in insertion order (pass these to tf.variableGrads). */
  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].filter((v) => v.trainable);
  }

  /** Names of the trainable variables, in the order of trainableVariables(). */
  trainableNames(): string[] {
    return [...this.vars].filter(([, v]) => v.trainable).map(([n]) => n);
  }

  /** Re-read trainable flags from the module tree (after Module.setTrainable, e.g. a PPL stage). */
  syncTrainable(module: Module): void {
    for (const p of module.parameters()) {
      const v = this.vars.get(p.name);
      if (v) v.trainable = p.spec.trainable && !p.spec.buffer;
    }
  }

  /**
   * Replace a value with a tensor already in this store's layout (what ops.param returned, an
   * optimiser update, a pending batch-norm statistic). The caller keeps ownership of `value`.
   */
  assign(name: string, value: tf.Tensor): void {
    const v = this.get(name);
    if (value.shape.length !== v.shape.length || value.shape.some((d, i) => d !== v.shape[i]))
      throw new Error(`tfjs parameters: cannot assign shape [${value.shape.join(', ')}] to '${name}' of stored shape [${v.shape.join(', ')}]`);
    v.assign(value);
  }

  /** Overwrite values from PyTorch-layout tensors (e.g. a loaded checkpoint); names must exist. */
  load(values: ParamValues, source = 'parameter values'): void {
    for (const [name, nt] of values) {
      const v = this.vars.get(name);
      if (!v) throw new Error(`${source}: unexpected tensor '${name}' (not in this model)`);
      const stored = tf.tidy(() => toStored(nt.data, nt.shape));
      try {
        this.assign(name, stored);
      } catch (e) {
        throw new Error(`${source}: ${(e as Error).message}`);
      } finally {
        stored.dispose();
      }
    }
  }

  /** All values back in PyTorch layouts (conv weights OIHW). */
  toParamValues(): ParamValues {
    const out: ParamValues = new Map();
    for (const [name, v] of this.vars) out.set(name, fromTf(v));
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** PyTorch-layout data → the stored layout (rank 4: HWIO from OIHW). */
function toStored(data: Float32Array, shape: number[]): tf.Tensor {
  const t = toTfLogical(data, shape); // rank 4: standard NHWC storage of OIHW = [O, kh, kw, I]
  return shape.length === 4 ? tf.transpose(t, [...STANDARD_TO_HWIO]) : t;
}
