// `wsss eval` on a synthetic data set with damaged inputs (acceptance 4): a corrupted JPEG, a
// missing mask, masks with labels outside the classes, a list naming a missing image. Each is
// reported with its file and reason; the other images are scored, and the figures match a
// straightforward recount. CAMs built from the ground truth pin down the threshold sweep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy } from '../../runtime/node/files/npy.ts';
import { encodeIndexedPng, readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { encodePickledDictNpy } from './npy-dict-writer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'wsss-eval-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const root = join(tmp, 'set');
const pred = join(tmp, 'pred');
const cams = join(tmp, 'cams');
const ids = Array.from({ length: 10 }, (_, i) => `val_${String(i).padStart(6, '0')}`);
const K = 6;

async function prepare(): Promise<void> {
  await writeSynthDataset(root, { ...defaultSynthParams('tiny', 21), train: 2, val: 10 });
  mkdirSync(pred);
  mkdirSync(cams);
  for (const [k, id] of ids.entries()) {
    const gt = await readLabelPng(join(root, 'SegmentationClass', `${id}.png`));
    // Predictions: the ground truth with the ignore band as background and every 5th object pixel missed.
    const p = gt.data.map((v, i) => (v === 255 ? 0 : v > 0 && i % 5 === 0 ? 0 : v));
    writeFileSync(join(pred, `${id}.png`), encodeIndexedPng({ width: gt.width, height: gt.height, data: p }));
    // CAMs: 0.6 on the object's class, 0.2 elsewhere → perfect from threshold 0.2 (ties go to background) to 0.55.
    const n = gt.width * gt.height;
    const dense = new Float32Array(K * n).fill(0.2);
    for (let i = 0; i < n; i++) if (gt.data[i] > 0 && gt.data[i] !== 255) dense[(gt.data[i] - 1) * n + i] = 0.6;
    if (k === 6) {
      // The reference repos' dict form for one image: {0-based class: map} for its classes only.
      const present = [...new Set(gt.data)].filter((v) => v > 0 && v !== 255).sort((a, b) => a - b);
      writeFileSync(join(cams, `${id}.npy`), encodePickledDictNpy(present.map((l) => [l - 1, { shape: [gt.height, gt.width], data: dense.slice((l - 1) * n, l * n) }])));
    } else if (k === 7) writeFileSync(join(cams, `${id}.npy`), encodeNpy([K, 8, 8], new Float32Array(K * 64))); // wrong size
    else writeFileSync(join(cams, `${id}.npy`), encodeNpy([K, gt.height, gt.width], dense));
  }
  // The damage.
  const jpg = join(root, 'JPEGImages', 'val_000002.jpg');
  truncateSync(jpg, Math.floor(readFileSync(jpg).length / 2));
  unlinkSync(join(root, 'SegmentationClass', 'val_000003.png'));
  const p4 = await readLabelPng(join(pred, 'val_000004.png'));
  p4.data[70] = 40;
  writeFileSync(join(pred, 'val_000004.png'), encodeIndexedPng(p4));
  const g5 = await readLabelPng(join(root, 'SegmentationClass', 'val_000005.png'));
  g5.data[3] = 30;
  writeFileSync(join(root, 'SegmentationClass', 'val_000005.png'), encodeIndexedPng(g5));
  writeFileSync(join(tmp, 'list.txt'), [...ids, 'val_999999'].join('\n') + '\n');
}

function wsss(...args: string[]) {
  return spawnSync(process.execPath, ['bin/wsss.js', ...args], { encoding: 'utf8' });
}

test('eval with damaged inputs: every problem named with file and reason, the rest scored correctly', async () => {
  await prepare();
  const jsonPath = join(tmp, 'out.json');
  const htmlPath = join(tmp, 'report.html');
  const r = wsss('eval', '--gt', root, '--pred', pred, '--cams', cams, '--list', join(tmp, 'list.txt'), '--json', jsonPath, '--html', htmlPath, '--examples', '10');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1]);
  assert.deepEqual(last, JSON.parse(readFileSync(jsonPath, 'utf8')), 'last stdout line = the JSON file');

  const issue = (file: string) => last.issues.find((i: { file: string }) => i.file.endsWith(file));
  assert.match(issue('JPEGImages/val_000002.jpg')?.reason ?? '', /cannot decode image/);
  assert.equal(issue('JPEGImages/val_000002.jpg').effect, 'not shown');
  assert.match(issue('SegmentationClass/val_000003.png')?.reason ?? '', /ground-truth mask not found/);
  assert.match(issue('pred/val_000004.png')?.reason ?? '', /label 40 at pixel \(\d+,\d+\) is outside the 7 classes/);
  assert.match(issue('SegmentationClass/val_000005.png')?.reason ?? '', /label 30 at pixel \(3,0\) is outside the 7 classes/);
  assert.match(issue('list.txt')?.reason ?? '', /lists image val_999999, which has no ground-truth mask/);
  assert.match(issue('cams/val_000007.npy')?.reason ?? '', /CAMs are 8×8, ground truth 64×64/);
  for (const needle of ['val_000002.jpg', 'val_000003.png', 'val_000004.png', 'val_000005.png', 'val_999999']) assert.match(r.stderr, new RegExp(needle));

  // Recount the evaluated images by hand: ids without problems in their mask or prediction.
  const scored = ids.filter((id) => !['val_000003', 'val_000004', 'val_000005'].includes(id));
  assert.equal(last.images_evaluated, scored.length);
  assert.equal(last.images_listed, 11);
  const n = K + 1;
  const tp = new Array(n).fill(0);
  const gtCount = new Array(n).fill(0);
  const predCount = new Array(n).fill(0);
  for (const id of scored) {
    const g = await readLabelPng(join(root, 'SegmentationClass', `${id}.png`));
    const p = await readLabelPng(join(pred, `${id}.png`));
    for (let i = 0; i < g.data.length; i++) {
      if (g.data[i] === 255) continue;
      gtCount[g.data[i]]++;
      predCount[p.data[i]]++;
      if (g.data[i] === p.data[i]) tp[g.data[i]]++;
    }
  }
  const iou = tp.map((t, c) => (gtCount[c] + predCount[c] ? t / (gtCount[c] + predCount[c] - t) : NaN));
  const present = iou.filter((v) => !Number.isNaN(v));
  const expectedMiou = present.reduce((a, b) => a + b, 0) / present.length;
  assert.ok(Math.abs(last.miou - expectedMiou) < 1e-12, `miou ${last.miou} vs ${expectedMiou}`);
  assert.ok(Math.abs(last.miou_all_classes - iou.map((v) => (Number.isNaN(v) ? 0 : v)).reduce((a, b) => a + b, 0) / n) < 1e-12);
  assert.ok(last.miou < 1 && last.miou > 0.5);
  const names = last.class_names as string[];
  assert.equal(names[0], 'background');
  for (const [c, name] of names.entries()) {
    if (!gtCount[c]) continue;
    assert.ok(Math.abs(last.per_class[name].recall - tp[c] / gtCount[c]) < 1e-12, name);
    assert.ok(Math.abs(last.per_class[name].precision - tp[c] / predCount[c]) < 1e-12, name);
  }
  assert.equal(last.confusion.length, n);
  assert.equal(last.confusion.flat().reduce((a: number, b: number) => a + b, 0), gtCount.reduce((a, b) => a + b, 0));

  // CAMs: perfect from 0.2 on (0.2 itself: ties go to background); 0.15 labels everything foreground.
  assert.equal(last.best_threshold, 0.2);
  assert.equal(last.cams.best_threshold, 0.2);
  assert.equal(last.cams.miou, 1);
  assert.equal(last.cams.images_evaluated, 9 - 1 - 1); // val_000003 (no GT), val_000005 (bad GT) and val_000007 (bad CAM) out; val_000004 in
  const at = (t: number) => last.cams.sweep.find((s: { threshold: number }) => s.threshold === t).miou;
  assert.ok(at(0.15) < 0.7); // background lost to the first labelled class
  assert.equal(at(0.55), 1);
  assert.ok(at(0.6) < 0.2); // objects lost to background (ties at 0.6)

  const html = readFileSync(htmlPath, 'utf8');
  assert.match(html, /<svg id="iou-chart"/);
  assert.match(html, /val_000002\.jpg/);
});

test('--strict fails on problems; CAM-only evaluation; a missing ground-truth folder is an error', () => {
  const strict = wsss('eval', '--gt', root, '--pred', pred, '--strict');
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /problem\(s\) with the input files \(--strict\)/);
  const camOnly = wsss('eval', '--gt', join(root, 'SegmentationClass'), '--cams', cams, '--thresholds', '0.1,0.2,0.3');
  assert.equal(camOnly.status, 0, camOnly.stderr);
  const last = JSON.parse(camOnly.stdout.trim().split('\n').pop()!);
  assert.equal(last.source, 'cams');
  assert.equal(last.best_threshold, 0.2);
  assert.equal(last.miou, 1);
  const missing = wsss('eval', '--gt', join(tmp, 'nope'), '--pred', pred);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope: ground-truth folder not found/);
});
