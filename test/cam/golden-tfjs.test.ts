// The golden adapters of graph code return the exported model's (onnxruntime) results; here the
// same adapters run the graphs through the tfjs interpreter instead, so the training interpreter
// is held to the reference implementations' numbers too (file tolerance: 1e-5 abs + 1e-4 rel).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Interpreter } from '../golden/graph-forward.ts';
import { compareOutput, loadVector, type GoldenVector, type ImplOutputs } from '../golden/vector.ts';

const dir = new URL('../../../shared/reference/vectors/', import.meta.url).pathname;

const adapters: Record<string, () => Promise<(v: GoldenVector, via: Interpreter) => Promise<ImplOutputs>>> = {
  cam_multiscale: () => import('../golden/modules/cam_multiscale.ts').then((m) => m.compute),
  cam_multiscale_edam: () => import('../golden/modules/cam_multiscale_edam.ts').then((m) => m.compute),
  edam_cma: () => import('../golden/modules/edam_cma.ts').then((m) => m.compute),
  edam_da_layer: () => import('../golden/modules/edam_da_layer.ts').then((m) => m.compute),
  onestage_baseline_cam: () => import('../golden/modules/onestage_baseline_cam.ts').then((m) => m.compute),
  multilabel_soft_margin: () => import('../golden/modules/multilabel_soft_margin.ts').then((m) => m.compute),
  hspp: () => import('../golden/modules/hspp.ts').then((m) => m.compute),
  hspp_nondivisible: () => import('../golden/modules/hspp.ts').then((m) => m.compute),
  vwe_encoder: () => import('../golden/modules/vwe_encoder.ts').then((m) => m.compute),
  vwe_net_forward: () => import('../golden/modules/vwe_net_forward.ts').then((m) => m.compute),
  pamr: () => import('../golden/modules/pamr.ts').then((m) => m.compute),
  pamr_d12_it3: () => import('../golden/modules/pamr.ts').then((m) => m.compute),
  ngwp_focal: () => import('../golden/modules/ngwp_focal.ts').then((m) => m.compute),
  stage_net_train_forward: () => import('../golden/modules/stage_net_train_forward.ts').then((m) => m.compute),
  pseudo_gt_from_pamr: () => import('../golden/modules/pseudo_gt_from_pamr.ts').then((m) => m.compute),
  balanced_ce_loss: () => import('../golden/modules/balanced_ce_loss.ts').then((m) => m.compute),
  sg_inference: () => import('../golden/modules/sg_gci.ts').then((m) => m.compute),
};

for (const [module, load] of Object.entries(adapters)) {
  const file = `${dir}${module}.json`;
  test(`${module}.json through the tfjs interpreter`, { skip: !existsSync(file) && 'no ../shared' }, async () => {
    const v = loadVector(file);
    const out = await (await load())(v, 'tfjs');
    const expected = Object.keys(v.outputs);
    assert.deepEqual(Object.keys(out).sort(), [...expected].sort(), 'every expected output is computed');
    const bad = expected.map((name) => compareOutput(name, v.outputs[name], out[name], v.tolerance)).filter((c) => !c.ok);
    assert.deepEqual(bad.map((c) => `${c.name}: ${c.detail}`), []);
  });
}
