// The dense CRF through the CLI: `wsss pseudo-label --crf` labels equal the CRF API applied to the
// CAMs it saved; `wsss refine --cams` over those CAMs gives the same files; `wsss refine` on
// probability maps equals denseCrfLabels; bad inputs (size mismatch, NaN, a 1×1 image) are named
// while the rest of the batch completes.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';

import { camCrfLabels, DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { denseCrfLabels } from '../../runtime/crf/dense-crf.ts';
import { crfParams } from '../../runtime/crf/params.ts';
import { crfRefineSegmentation } from '../../runtime/crf/segmentation-crf.ts';
import { loadCrfEngine } from '../../runtime/node/crf/crf-engines.ts';
import { openModelFile } from '../../runtime/node/open-model-file.ts';
import { segmentPixels } from '../../runtime/segment.ts';
import { decodeImageFile } from '../../runtime/node/dataset/decode-image.ts';
import { readNpyFloat32, writeNpy } from '../../runtime/node/files/npy.ts';
import { decodeLabelPng } from '../../runtime/node/files/palette-png.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { lastJson, writeCamTinyModel, wsss } from '../cam/cli-fixtures.ts';
import { crfScene } from './scenes.ts';

let dir: string;
let data: string;
let model: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-crf-cli-'));
  data = join(dir, 'synth');
  model = join(dir, 'cam-tiny.onnx');
  writeCamTinyModel(model);
  const r = wsss('synth', '--preset', 'tiny', '--train', '6', '--val', '1', '--out', data);
  assert.equal(r.status, 0, r.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const labelsOf = (path: string) => decodeLabelPng(new Uint8Array(readFileSync(path)), path).data;

test('pseudo-label --crf psa: labels are the CRF of the saved CAMs (image labels, α 4); refine --cams reproduces them', async () => {
  const out = join(dir, 'pseudo-crf');
  const r = wsss('pseudo-label', '--model', model, '--data', data, '--out', out, '--ep', 'cpu', '--scales', '1', '--use-image-labels', '--crf', 'psa', '--crf-alpha', '4');
  assert.equal(r.status, 0, r.stderr);
  const summary = lastJson(r.stdout);
  assert.deepEqual(summary.crf, { ...crfParams('psa'), alpha: 4 });
  const ds = VocDataset.open(data);
  const engine = await loadCrfEngine('auto');
  const ids = readdirSync(join(out, 'labels')).map((f) => f.replace(/\.png$/, ''));
  assert.equal(ids.length, 6);
  let changed = 0;
  for (const id of ids) {
    const image = await decodeImageFile(ds.imagePath(id));
    const cams = readNpyFloat32(join(out, 'cams', `${id}.npy`));
    const keep = (await ds.labels(id)).map((l) => l - 1);
    const want = camCrfLabels(engine, image, cams.data, cams.shape[0], keep, { params: crfParams('psa'), alpha: 4 });
    assert.deepEqual(labelsOf(join(out, 'labels', `${id}.png`)), want, id);
  }
  const plain = join(dir, 'pseudo');
  assert.equal(wsss('pseudo-label', '--model', model, '--data', data, '--out', plain, '--ep', 'cpu', '--scales', '1', '--use-image-labels').status, 0);
  for (const id of ids) if (Buffer.compare(readFileSync(join(plain, 'labels', `${id}.png`)), readFileSync(join(out, 'labels', `${id}.png`))) !== 0) changed++;
  assert.ok(changed > 0, 'the CRF changed some label maps');

  const refined = join(dir, 'refined');
  const rr = wsss('refine', '--crf', 'psa', '--cams', '--crf-alpha', '4', '--use-image-labels', '--data', data, '--probs', join(out, 'cams'), '--out', refined, '--engine', 'wasm');
  assert.equal(rr.status, 0, rr.stderr);
  assert.equal(lastJson(rr.stdout).refined, 6);
  for (const id of ids) assert.deepEqual(labelsOf(join(refined, `${id}.png`)), labelsOf(join(out, 'labels', `${id}.png`)), id);
});

test('eval --pred-crf: a with-CRF column whose figures equal a separate eval of the CRF labels', () => {
  const plain = join(dir, 'pseudo', 'labels');
  const crf = join(dir, 'pseudo-crf', 'labels');
  const both = wsss('eval', '--gt', data, '--pred', plain, '--pred-crf', crf);
  assert.equal(both.status, 0, both.stderr);
  assert.match(both.stdout, /IoU\+CRF/);
  assert.match(both.stdout, /with the dense CRF .*: mIoU [0-9.]+ \([+-][0-9.]+\)/);
  const j = lastJson(both.stdout) as { miou: number; crf: { miou: number; miou_gain: number; images: number } };
  const alone = lastJson(wsss('eval', '--gt', data, '--pred', crf).stdout) as { miou: number };
  const without = lastJson(wsss('eval', '--gt', data, '--pred', plain).stdout) as { miou: number };
  assert.equal(j.crf.miou, alone.miou);
  assert.equal(j.miou, without.miou);
  assert.ok(Math.abs(j.crf.miou_gain - (alone.miou - without.miou)) < 1e-12);
  assert.equal(j.crf.images, 6);
  assert.equal(wsss('eval', '--gt', data, '--cams', join(dir, 'pseudo', 'cams'), '--pred-crf', crf).status, 2, '--pred-crf needs --pred');
});

test('refine: probability maps → denseCrfLabels; size mismatch, NaN and 1×1 images are named, the rest completes; rerun resumes', async () => {
  const images = join(dir, 'plain-images');
  const probs = join(dir, 'probs');
  mkdirSync(images, { recursive: true });
  mkdirSync(probs, { recursive: true });
  const good = crfScene(40, 30, 3, 2);
  const write = async (id: string, s: ReturnType<typeof crfScene>, p = s.probs) => {
    await sharp(Buffer.from(s.image.data), { raw: { width: s.image.width, height: s.image.height, channels: 3 } }).png().toFile(join(images, `${id}.png`));
    await writeNpy(join(probs, `${id}.npy`), p.dims, p.data);
  };
  await write('good', good);
  const other = crfScene(32, 24, 3, 4);
  await write('mismatch', other, crfScene(24, 32, 3, 4).probs);
  const nan = crfScene(20, 16, 3, 5);
  const nanData = nan.probs.data.slice();
  nanData[7] = NaN;
  await write('nan', nan, { data: nanData, dims: nan.probs.dims });
  await write('tiny', { image: { data: new Uint8Array([9, 9, 9]), width: 1, height: 1, channels: 3 }, probs: { data: new Float32Array([0.2, 0.8]), dims: [2, 1, 1] }, truth: new Uint8Array(1) });
  const out = join(dir, 'refine-out');
  const r = wsss('refine', '--crf', 'edam', '--data', images, '--probs', probs, '--out', out);
  assert.equal(r.status, 1, 'failures give exit status 1');
  assert.match(r.stderr, /failed: mismatch: .*mismatch\.npy.*probabilities are 24×32 \(W×H\) but the image is 32×24/);
  assert.match(r.stderr, /failed: nan: .*nan\.npy.*NaN probability at label 0, pixel 7/);
  assert.match(r.stderr, /failed: tiny: .*image is 1×1; the dense CRF needs at least 2×2 pixels/);
  const s = lastJson(r.stdout);
  assert.equal(s.refined, 1);
  assert.equal(s.failed, 3);
  const want = denseCrfLabels(await loadCrfEngine('auto'), good.image, good.probs, crfParams('edam'));
  assert.deepEqual(labelsOf(join(out, 'good.png')), want);
  const again = wsss('refine', '--crf', 'edam', '--data', images, '--probs', probs, '--out', out, '--list', writeList(['good']));
  assert.equal(again.status, 0, again.stderr);
  assert.equal(lastJson(again.stdout).skipped_existing, 1);
  const bad = wsss('refine', '--crf', 'deeplab', '--data', images, '--probs', probs, '--out', out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown CRF preset 'deeplab'/);
});

test('segment --crf psa: labels are crfRefineSegmentation of the segmentation; the overlay is written', async () => {
  const ds = VocDataset.open(data);
  const id = ds.ids('train')[0];
  const out = join(dir, 'segment-crf');
  const r = wsss('segment', '--model', model, ds.imagePath(id), '--out', out, '--ep', 'cpu', '--crf', 'psa', '--crf-iters', '5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(String(lastJson(r.stdout).rule), /dense CRF \(5 iterations\)/);
  const session = await openModelFile(model, { providers: ['cpu'] });
  try {
    const seg = await segmentPixels(session, await decodeImageFile(ds.imagePath(id)));
    const want = crfRefineSegmentation(await loadCrfEngine('auto'), seg, { params: crfParams('psa', { iterations: 5 }), alpha: DEFAULT_CRF_ALPHA });
    assert.deepEqual(labelsOf(join(out, `${id}.png`)), want.data);
    assert.notDeepEqual(want.data, seg.labels.data, 'the CRF changed the labels');
  } finally {
    await session.release();
  }
  assert.ok(existsSync(join(out, `${id}.overlay.png`)));
});

function writeList(ids: string[]): string {
  const p = join(dir, 'list.txt');
  writeFileSync(p, ids.join('\n') + '\n');
  return p;
}
