// `wsss pseudo-label --fuse-saliency` end to end on a tiny synthetic set with an exported Grad-CAM
// model: the labels are Algorithm 1 applied to the saved CAMs and the data set's saliency maps
// (recomputed here from the files), and `--from-cams` (the benchmark's inference-only rows)
// gives byte-identical label files without running the model. The same for `--saliency DIR`
// alone (the model's own rule, EDAM's Algorithm 1), the path of EDAM's benchmark label variant.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPseudoLabelFromCams } from '../../cli/pseudo-label-cams-run.ts';
import { runPseudoLabel } from '../../cli/pseudo-label-run.ts';
import { exportOnnx } from '../../export/export-onnx.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { readSaliencyMap } from '../../runtime/node/files/saliency-map.ts';
import { algorithm1Labels } from '../../runtime/saliency/algorithm1.ts';
import { selectChannels } from '../../runtime/cam/multiscale.ts';
import { PAPER_SALIENCY_FUSION, saliencyLabelMap } from '../../runtime/cam/saliency-fusion.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';

let root: string;
let data: string;
let model: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsss-fuse-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 2), train: 4, val: 1 });
  const def = getMethod('gradcam');
  const m = def.build({ backbone: 'cam-tiny-w16', classNames: VocDataset.open(data).classNames, options: resolveOptions(def, {}) });
  model = join(root, 'gradcam.onnx');
  writeFileSync(model, exportOnnx(m.graph, initialiseAll(m.module, 1)));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('--fuse-saliency labels = Algorithm 1 on the saved CAMs and SaliencyMaps/; --from-cams gives the same files', async () => {
  const out = join(root, 'fused');
  const saliency = { rule: 'fuse' as const, gamma1: 0.2, gamma2: 0.06, threshold: 0.5 };
  const s = await runPseudoLabel({ model, data, split: 'train', out, providers: ['cpu'], scales: [1, 0.5], flip: true, useImageLabels: true, writeCams: true, workers: 0, saliency, quiet: true });
  assert.equal(s.processed, 4);
  let foreground = 0;
  const labels = JSON.parse(readFileSync(join(data, 'cls_labels.json'), 'utf8')) as Record<string, number[]>;
  for (const f of readdirSync(join(out, 'labels'))) {
    const id = f.replace('.png', '');
    const cams = readNpyFloat32(join(out, 'cams', `${id}.npy`));
    const [c, h, w] = cams.shape;
    const sal = Float32Array.from(readSaliencyMap(join(data, 'SaliencyMaps', `${id}.png`), w, h), (v) => v / 255);
    const keep = labels[id].map((v, k) => (v ? k : -1)).filter((k) => k >= 0);
    const want = algorithm1Labels(cams.data, c, sal, keep);
    assert.deepEqual((await readLabelPng(join(out, 'labels', f))).data, want, id);
    foreground += want.filter((v) => v > 0).length;
  }
  assert.ok(foreground > 0, 'some pixels are labelled foreground');
  const again = await runPseudoLabelFromCams({ cams: join(out, 'cams'), data, split: 'train', out: join(root, 'from-cams'), useImageLabels: true, saliency, quiet: true });
  assert.equal(again.processed, 4);
  for (const f of readdirSync(join(out, 'labels'))) assert.deepEqual(readFileSync(join(root, 'from-cams', 'labels', f)), readFileSync(join(out, 'labels', f)), f);
});

test("--saliency DIR alone: the model's own rule (EDAM's Algorithm 1, here the paper's θ, α, β); --from-cams with --model gives the same files", async () => {
  const out = join(root, 'edam-rule');
  const dir = join(data, 'SaliencyMaps');
  const s = await runPseudoLabel({ model, data, split: 'train', out, providers: ['cpu'], scales: [1, 0.5], flip: true, useImageLabels: true, writeCams: true, workers: 0, saliency: { dir, rule: 'model' }, quiet: true });
  assert.equal(s.processed, 4);
  // A Grad-CAM model's label rule names no saliency fusion: the EDAM paper's defaults apply.
  assert.deepEqual(s.saliency, { dir, ...PAPER_SALIENCY_FUSION });
  let foreground = 0;
  const labels = JSON.parse(readFileSync(join(data, 'cls_labels.json'), 'utf8')) as Record<string, number[]>;
  for (const f of readdirSync(join(out, 'labels'))) {
    const id = f.replace('.png', '');
    const cams = readNpyFloat32(join(out, 'cams', `${id}.npy`));
    const [c, h, w] = cams.shape;
    const keep = labels[id].map((v, k) => (v ? k : -1)).filter((k) => k >= 0);
    const want = saliencyLabelMap(selectChannels(cams.data, c, h * w, keep), keep, h * w, readSaliencyMap(join(dir, `${id}.png`), w, h), PAPER_SALIENCY_FUSION);
    assert.deepEqual((await readLabelPng(join(out, 'labels', f))).data, want, id);
    foreground += want.filter((v) => v > 0).length;
  }
  assert.ok(foreground > 0, 'some pixels are labelled foreground');
  const again = await runPseudoLabelFromCams({ cams: join(out, 'cams'), model, data, split: 'train', out: join(root, 'edam-from-cams'), useImageLabels: true, saliency: { dir, rule: 'model' }, quiet: true });
  assert.equal(again.processed, 4);
  for (const f of readdirSync(join(out, 'labels'))) assert.deepEqual(readFileSync(join(root, 'edam-from-cams', 'labels', f)), readFileSync(join(out, 'labels', f)), f);
});
