// SGD with momentum and weight decay, PyTorch semantics (dampening 0, no Nesterov):
//   g ← grad + wd·p;  buf ← μ·buf + g;  p ← p − lr·buf

import * as tf from '@tensorflow/tfjs-core';
import type { ParamValues } from '../graphs/module.ts';
import type { Optimizer } from './optimizer.ts';
import { groupOf, type ParamGroupRule } from './param-groups.ts';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  groups?: ParamGroupRule[];
}

/** Resume-state keys: "momentum.<parameter>" (stored as "optimizer.momentum.<parameter>"). */
const MOMENTUM = 'momentum.';

export class Sgd implements Optimizer {
  /** Momentum buffers by parameter name (created lazily, zeros ≡ PyTorch's first-step copy). */
  readonly momentum = new Map<string, tf.Tensor>();
  constructor(readonly options: SgdOptions) {}

  /** Apply one update with base learning rate `lr` to the given variables. */
  step(lr: number, variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    const names = Object.keys(grads).sort();
    for (const name of names) {
      const p = variables.get(name);
      if (!p) throw new Error(`gradient for unknown parameter '${name}'`);
      const { lrMult, weightDecay } = groupOf(this.options.groups, this.options.weightDecay, name);
      const next = tf.tidy(() => {
        let g = grads[name];
        if (weightDecay) g = tf.add(g, tf.mul(p, weightDecay));
        const prev = this.momentum.get(name);
        const buf = prev && this.options.momentum ? tf.add(tf.mul(prev, this.options.momentum), g) : g;
        return { buf: tf.keep(buf.clone()), value: tf.sub(p, tf.mul(buf, lr * lrMult)) };
      });
      this.momentum.get(name)?.dispose();
      this.momentum.set(name, next.buf);
      p.assign(next.value);
      next.value.dispose();
    }
  }

  state(): ParamValues {
    // Buffers stay in the store's own layout (conv buffers HWIO): they are resume state only.
    const out: ParamValues = new Map();
    for (const [name, t] of this.momentum) out.set(MOMENTUM + name, { shape: [...t.shape], data: t.dataSync() as Float32Array });
    return out;
  }

  restore(state: ParamValues, source: string): void {
    for (const [key, v] of state) {
      if (!key.startsWith(MOMENTUM)) throw new Error(`${source}: optimiser state '${key}' is not SGD's (was the run trained with another --optimizer?)`);
      this.momentum.set(key.slice(MOMENTUM.length), tf.tensor(v.data, v.shape));
    }
  }

  dispose(): void {
    for (const t of this.momentum.values()) t.dispose();
    this.momentum.clear();
  }
}
