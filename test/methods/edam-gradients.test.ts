// EDAM's training losses (issue 15): the gradients the trainer applies — tfjs's automatic
// differentiation of `EdamNet.training`, through the DA layer's L2 normalisation across masks and
// its absolute value — against central finite differences of the same loss, for the "+ DA"
// ablation (per-class classifiers on GAP(X ⊙ M_k)) and for CMA: the DA layer, the reduction, the
// class classifiers and (with CMA) the transformers all receive the gradient of the loss.
// A width-1/16 cam-tiny ending at its last BN (the signed trunk EDAM trains on by default), 3
// classes, 4 images of 24×24, batch norms in inference mode (so the loss is a smooth function of
// each weight away from ReLU and |·| kinks) and dropout off.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createFeatureBackbone } from '../../graphs/backbones/index.ts';
import { EdamNet } from '../../graphs/methods/edam/model.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { opsTensor, tfTensor } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

const K = 3;
const N = 4;
const SIZE = 24;
// Images 0/1 share class 0, images 2/3 share class 2 (CMA's pairs are (0,1) and (2,3)).
const LABELS = new Float32Array([1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1]);

before(() => startTfjs());

function checkGradients(attention: boolean, names: string[]) {
  const net = new EdamNet(createFeatureBackbone('cam-tiny-w16', { finalRelu: false }), K, {
    dim: 4, attention, heads: 2, layers: 1, ffHidden: 8, dropout: 0, sampleNum: 0, pool: 2,
  }).finalise();
  const params = new TfjsParams(initialiseAll(net, 3), net);
  const ops = new TfjsOps(params, { training: false });
  const rng = new Rng(5);
  const pixels = Float32Array.from({ length: N * SIZE * SIZE * 3 }, () => 255 * rng.uniform());
  const loss = () =>
    tf.tidy(() => {
      const batch = {
        image: opsTensor(tf.tensor4d(pixels, [N, SIZE, SIZE, 3])),
        labels: opsTensor(tf.tensor2d(LABELS, [N, K])),
        labelsData: LABELS,
        indices: [0, 1, 2, 3],
      };
      const out = net.training(ops, batch, { step: 0, epoch: 0, seed: 0, stage: { name: 'classification', epochs: 1, frozen: [], losses: ['cls'] } });
      return tf.reshape(tfTensor(out.losses.cls), []) as tf.Scalar;
    });
  const { value, grads } = tf.variableGrads(loss);
  assert.ok(Number.isFinite(value.dataSync()[0]));
  // Directional derivatives over whole tensors: along the gradient itself (it must equal ‖g‖:
  // by Cauchy–Schwarz only the true gradient does) and along a random direction r (⟨g, r⟩).
  // A step of norm 1e-3 spread over the tensor keeps float32 noise and the |·| kinks small.
  const h = 1e-3;
  const dirRng = new Rng(9);
  for (const name of names) {
    const v = params.get(name);
    const g = Float32Array.from(grads[v.name].dataSync());
    const w0 = Float32Array.from(v.dataSync());
    const norm = Math.hypot(...g);
    assert.ok(norm > 1e-4, `${name} receives no gradient (‖g‖ = ${norm})`);
    const random = Float32Array.from(g, () => dirRng.range(-1, 1));
    const rNorm = Math.hypot(...random);
    for (const [label, dir] of [['gradient', g.map((x) => x / norm)], ['random', random.map((x) => x / rNorm)]] as const) {
      const at = (t: number) => {
        v.assign(tf.tensor(w0.map((x, i) => x + t * dir[i]), v.shape));
        return loss().dataSync()[0];
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(w0, v.shape));
      const want = g.reduce((s, x, i) => s + x * dir[i], 0);
      assert.ok(Math.abs(fd - want) <= 2e-5 + 0.02 * norm, `${name}, ${label} direction: autodiff ${want}, finite differences ${fd} (‖g‖ ${norm})`);
    }
  }
  params.dispose();
}

test('"+ DA" training loss: autodiff gradients of the DA layer, reduction and class classifiers equal finite differences', () => {
  checkGradients(false, ['mask_layer.weight', 'cma.d_d.weight', 'cma.fc_list.0.weight', 'cma.fc_list.2.weight']);
});

test('CMA training loss: autodiff gradients of the DA layer, reduction, a transformer and its classifier equal finite differences', () => {
  checkGradients(true, ['mask_layer.weight', 'cma.d_d.weight', 'cma.trans_list.0.0.feed_forward.w_1.weight', 'cma.fc_list.2.weight']);
});
