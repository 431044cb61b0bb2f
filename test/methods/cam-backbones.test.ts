// The CAM method on every backbone (issue 12, acceptance 1, at test size): `trainMethod` runs,
// a run killed after a checkpoint resumes to the same parameters as an uninterrupted one, the
// run's model rebuilt from its directory alone (openRun: method, backbone, options and classes
// from the checkpoint) exports to ONNX equal to the tfjs forward, and pseudo-labelling with that
// model labels every image. Width/16 variants at 32 px crops keep it to seconds; the full-width
// 20-step runs are measured by hand (README).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPseudoLabel } from '../../cli/pseudo-label-run.ts';
import { exportOnnx } from '../../export/export-onnx.ts';
import { verifyExport } from '../../export/verify.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { trainMethod, type MethodTrainConfig } from '../../train/method-trainer.ts';
import { openRun } from '../../train/run-model.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

const BACKBONES = ['cam-tiny', 'resnet50-w16', 'resnet101-os8-w16', 'resnet38d-w16', 'vgg16d-w16', 'mobilenet_v2-w16'];

let root: string;
let data: string;
before(async () => {
  await startTfjs();
  root = mkdtempSync(join(tmpdir(), 'wsss-cam-backbones-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 5), train: 8, val: 1 });
});
after(() => rmSync(root, { recursive: true, force: true }));

function config(backbone: string, outDir: string): MethodTrainConfig {
  return {
    method: 'cam',
    backbone,
    options: {},
    data,
    split: 'train',
    // 8 images, batch 4: 2 steps an epoch; 2 epochs planned, the run ends complete at 3 steps.
    hyper: { epochs: 2, batch: 4, crop: 32, lr: 0.01, warmup: 1 },
    seed: 7,
    outDir,
    checkpointEvery: 1,
    augment: { scale: [0.9, 1.1], flip: true },
    maxSteps: 3,
    progress: false,
  };
}

for (const backbone of BACKBONES) {
  test(`cam on ${backbone}: exact resume, export --run parity, pseudo-label`, async () => {
    const straightDir = join(root, `${backbone}-straight`);
    const killedDir = join(root, `${backbone}-killed`);
    const straight = await trainMethod(config(backbone, straightDir));
    assert.equal(straight.steps, 3);
    assert.ok(existsSync(join(straightDir, 'model.safetensors')), 'a run ended by maxSteps is complete');
    const first = await trainMethod({ ...config(backbone, killedDir), stopAfter: 2 });
    assert.equal(first.steps, 2);
    assert.ok(!existsSync(join(killedDir, 'model.safetensors')), 'a killed run has no model');
    const second = await trainMethod(config(backbone, killedDir));
    assert.equal(second.resumedFrom, 2);

    const a = openRun(straightDir);
    const b = openRun(killedDir);
    assert.equal(a.config.method, 'cam');
    assert.equal(a.config.backbone, backbone);
    assert.deepEqual(a.config.classNames, a.graph.classNames);
    let worst = 0;
    let moved = 0;
    const init = initialiseAll(a.model.module, 7);
    for (const [name, v] of a.values) {
      const r = b.values.get(name)!;
      const i0 = init.get(name)!;
      for (let i = 0; i < v.data.length; i++) {
        worst = Math.max(worst, Math.abs(v.data[i] - r.data[i]));
        moved = Math.max(moved, Math.abs(v.data[i] - i0.data[i]));
      }
    }
    assert.ok(worst <= 1e-6, `resumed run differs from the straight one by ${worst}`);
    assert.ok(moved > 1e-4, 'training changed the parameters');

    // Export from the run alone, verified against tfjs at a size no stride divides.
    const bytes = exportOnnx(a.graph, a.values, { source: a.modelPath });
    const v = await verifyExport(a.graph, a.values, bytes, { size: [45, 37], batch: 2 });
    const cams = v.outputs.find((o) => o.name === 'cams')!;
    assert.ok(cams.shapeMatch && cams.relErr <= 1e-4, `cams: relative error ${cams.relErr}`);
    assert.ok(v.relErr <= 1e-4, `worst output ${v.worst}: ${v.relErr}`);

    const modelPath = join(straightDir, 'model.onnx');
    writeFileSync(modelPath, bytes);
    const pl = await runPseudoLabel({ model: modelPath, data, split: 'train', out: join(straightDir, 'pseudo'), providers: ['cpu'], scales: [1, 0.5], flip: true, useImageLabels: true, writeCams: false, workers: 0, quiet: true });
    assert.equal(pl.failed, 0);
    assert.equal(pl.processed, 8);
    assert.equal(pl.merge_rule, 'max-flip-sum', "the CAM method's label rule from the model's metadata");
    assert.equal(readdirSync(join(straightDir, 'pseudo', 'labels')).filter((f) => f.endsWith('.png')).length, 8);
  });
}
