// Grad-CAM by tfjs's automatic differentiation: the reference for the head's backward pass that
// graphs/methods/gradcam/model.ts writes out as graph ops (and the exported model runs). For each
// class c, tf.grad of Σ_n y^c_n with respect to the feature tap A gives every image's ∂y^c/∂A
// (the images of a batch do not interact at inference); α and the maps are then summed in plain
// loops, independently of the graph code.

import * as tf from '@tensorflow/tfjs-core';
import type { GradCamNet } from '../graphs/methods/gradcam/model.ts';
import type { ParamValues } from '../graphs/module.ts';
import { initTfjs } from './tfjs-backend.ts';
import { TfjsOps } from './tfjs-interpreter.ts';
import { fromTf, opsTensor, tfTensor, toTfLogical } from './tfjs-layout.ts';
import { TfjsParams } from './tfjs-params.ts';

export interface AutodiffGradCam {
  /** The tap's features A, [N, F, h, w]. */
  features: { shape: number[]; data: Float32Array };
  /** ∂y^c/∂A for every class, [C][N·F·h·w] (logical order). */
  gradients: Float32Array[];
  /** Σ_ij ∂y^c/∂A^k_ij, [N, C, F]. */
  alphas: Float32Array;
  /** ReLU(Σ_k α_k^c A^k), [N, C, h, w]. */
  maps: Float32Array;
}

/** Grad-CAM of `net` (inference mode) on `image` [N, 3, H, W] by autodiff, at the final tap. */
export async function gradCamByAutodiff(net: GradCamNet, values: ParamValues, image: { dims: number[]; data: Float32Array }): Promise<AutodiffGradCam> {
  await initTfjs();
  const params = new TfjsParams(values, net);
  try {
    const ops = new TfjsOps(params, { training: false });
    const classes = net.head.numClasses;
    const features = tf.tidy(() => tf.keep(tfTensor(net.features(ops, opsTensor(toTfLogical(image.data, image.dims))))));
    const A = fromTf(features);
    const gradients: Float32Array[] = [];
    for (let c = 0; c < classes; c++) {
      const g = tf.tidy(() => {
        const yc = (a: tf.Tensor) => tf.sum(tf.slice(tfTensor(net.head.scores(ops, opsTensor(a))), [0, c], [-1, 1]));
        return tf.grad(yc)(features);
      });
      gradients.push(fromTf(g).data);
      g.dispose();
    }
    features.dispose();
    const [n, f, h, w] = A.shape;
    const hw = h * w;
    const alphas = new Float32Array(n * classes * f);
    const maps = new Float32Array(n * classes * hw);
    for (let b = 0; b < n; b++)
      for (let c = 0; c < classes; c++) {
        for (let k = 0; k < f; k++) {
          let s = 0;
          for (let i = 0; i < hw; i++) s += gradients[c][(b * f + k) * hw + i];
          alphas[(b * classes + c) * f + k] = s;
        }
        for (let i = 0; i < hw; i++) {
          let s = 0;
          for (let k = 0; k < f; k++) s += alphas[(b * classes + c) * f + k] * A.data[(b * f + k) * hw + i];
          maps[(b * classes + c) * hw + i] = Math.max(0, s);
        }
      }
    return { features: A, gradients, alphas, maps };
  } finally {
    params.dispose();
  }
}
