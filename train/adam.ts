// Adam, PyTorch semantics (torch.optim.Adam: L2 weight decay added to the gradient, not AdamW's
// decoupled decay; β = (0.9, 0.999), ε = 1e-8 added after the square root):
//   g ← grad + wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  t ← t + 1
//   p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
// t counts a parameter's own updates, so a parameter frozen during an early training stage
// starts its bias correction when it starts training.

import * as tf from '@tensorflow/tfjs-core';
import type { ParamValues } from '../graphs/module.ts';
import type { Optimizer } from './optimizer.ts';
import { groupOf, type ParamGroupRule } from './param-groups.ts';

export interface AdamOptions {
  weightDecay: number;
  groups?: ParamGroupRule[];
}

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

interface Moments {
  m: tf.Tensor;
  v: tf.Tensor;
  t: number;
}

/** Resume-state keys: "adam.m.<parameter>", "adam.v.<parameter>", "adam.t.<parameter>" (a 1-element count). */
const M = 'adam.m.';
const V = 'adam.v.';
const T = 'adam.t.';

export class Adam implements Optimizer {
  readonly moments = new Map<string, Moments>();
  constructor(readonly options: AdamOptions) {}

  step(lr: number, variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    for (const name of Object.keys(grads).sort()) {
      const p = variables.get(name);
      if (!p) throw new Error(`gradient for unknown parameter '${name}'`);
      const { lrMult, weightDecay } = groupOf(this.options.groups, this.options.weightDecay, name);
      const prev = this.moments.get(name);
      const t = (prev?.t ?? 0) + 1;
      const next = tf.tidy(() => {
        let g = grads[name];
        if (weightDecay) g = tf.add(g, tf.mul(p, weightDecay));
        const m = prev ? tf.add(tf.mul(prev.m, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1)) : tf.mul(g, 1 - ADAM_BETA1);
        const v = prev ? tf.add(tf.mul(prev.v, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2)) : tf.mul(tf.square(g), 1 - ADAM_BETA2);
        const mHat = tf.div(m, 1 - ADAM_BETA1 ** t);
        const denom = tf.add(tf.sqrt(tf.div(v, 1 - ADAM_BETA2 ** t)), ADAM_EPS);
        return { m: tf.keep(m), v: tf.keep(v), value: tf.sub(p, tf.mul(tf.div(mHat, denom), lr * lrMult)) };
      });
      if (prev) tf.dispose([prev.m, prev.v]);
      this.moments.set(name, { m: next.m, v: next.v, t });
      p.assign(next.value);
      next.value.dispose();
    }
  }

  state(): ParamValues {
    const out: ParamValues = new Map();
    for (const [name, { m, v, t }] of this.moments) {
      out.set(M + name, { shape: [...m.shape], data: m.dataSync() as Float32Array });
      out.set(V + name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
      out.set(T + name, { shape: [1], data: Float32Array.of(t) });
    }
    return out;
  }

  restore(state: ParamValues, source: string): void {
    for (const key of state.keys()) {
      if (![M, V, T].some((p) => key.startsWith(p))) throw new Error(`${source}: optimiser state '${key}' is not Adam's (was the run trained with another --optimizer?)`);
      if (!key.startsWith(T)) continue;
      const name = key.slice(T.length);
      const m = state.get(M + name);
      const v = state.get(V + name);
      if (!m || !v) throw new Error(`${source}: Adam state of '${name}' is incomplete`);
      this.moments.set(name, { m: tf.tensor(m.data, m.shape), v: tf.tensor(v.data, v.shape), t: state.get(key)!.data[0] });
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}
