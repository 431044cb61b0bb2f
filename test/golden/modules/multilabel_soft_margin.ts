// Golden adapter: the multilabel soft-margin loss of train/losses.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { multilabelSoftMargin, multilabelSoftMarginPerSample } from '../../../train/losses.ts';
import type { GoldenImpl } from '../vector.ts';

export const run: GoldenImpl = async (v) => {
  const { logits, targets } = v.inputs;
  const y = tf.tensor(logits.data, logits.shape);
  const t = tf.tensor(targets.data, targets.shape);
  const perSample = multilabelSoftMarginPerSample(y, t);
  const loss = multilabelSoftMargin(y, t);
  const out = {
    loss: { shape: [], data: await loss.data() },
    loss_per_sample: { shape: perSample.shape, data: await perSample.data() },
    // Equal to the loss when every sample has the same number of classes (SPEC §1.7).
    bce_with_logits_mean: { shape: [], data: await loss.data() },
  };
  tf.dispose([y, t, perSample, loss]);
  return out;
};
