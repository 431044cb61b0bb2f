// SGD with momentum and weight decay, PyTorch semantics (dampening 0, no Nesterov):
//   g ← grad + wd·p;  buf ← μ·buf + g;  p ← p − lr·buf
// Parameters are grouped: each group has its own learning-rate multiplier and weight decay
// (pretrained backbone ×1, new layers ×10, biases without decay, as the papers train).

import * as tf from '@tensorflow/tfjs-core';

export interface ParamGroupRule {
  /** Which parameters (by full name) belong to the group; the first matching rule wins. */
  match: (name: string) => boolean;
  lrMult: number;
  weightDecay?: number; // default: the optimiser's
  label: string;
}

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  groups?: ParamGroupRule[];
}

export class Sgd {
  /** Momentum buffers by parameter name (created lazily, zeros ≡ PyTorch's first-step copy). */
  readonly momentum = new Map<string, tf.Tensor>();
  constructor(readonly options: SgdOptions) {}

  groupOf(name: string): { lrMult: number; weightDecay: number; label: string } {
    for (const g of this.options.groups ?? [])
      if (g.match(name)) return { lrMult: g.lrMult, weightDecay: g.weightDecay ?? this.options.weightDecay, label: g.label };
    return { lrMult: 1, weightDecay: this.options.weightDecay, label: 'default' };
  }

  /** Apply one update with base learning rate `lr` to the given variables. */
  step(lr: number, variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    const names = Object.keys(grads).sort();
    for (const name of names) {
      const p = variables.get(name);
      if (!p) throw new Error(`gradient for unknown parameter '${name}'`);
      const { lrMult, weightDecay } = this.groupOf(name);
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

  dispose(): void {
    for (const t of this.momentum.values()) t.dispose();
    this.momentum.clear();
  }
}
