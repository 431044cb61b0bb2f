// Loss functions shared by the methods (tfjs, eager, differentiable).

import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-sample multilabel soft-margin loss (PyTorch nn.MultiLabelSoftMarginLoss, reduction
 * 'none'): −(1/C) Σ_c [t·log σ(y) + (1 − t)·log σ(−y)], computed in the stable form
 * max(y, 0) − y·t + log(1 + exp(−|y|)) so |y| = 40 neither overflows nor loses precision.
 * logits, targets: [N, C] → [N].
 */
export function multilabelSoftMarginPerSample(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const perElement = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(perElement, -1);
  });
}

/** Mean over the batch of multilabelSoftMarginPerSample (what the reference repos minimise). */
export function multilabelSoftMargin(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(multilabelSoftMarginPerSample(logits, targets)) as tf.Scalar);
}
