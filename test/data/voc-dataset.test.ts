// The VOC reader on small handmade trees: VOC2012 (palette masks, Annotations XML, ImageSets),
// SBD's SegmentationClassAug (grey masks, "path path" list lines) with the reference repos'
// cls_labels.npy, and error messages for broken inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeJpeg } from '../../runtime/node/dataset/images.ts';
import { encodeGreyPng, encodeIndexedPng } from '../../runtime/node/files/palette-png.ts';
import { parseAnnotationObjectNames, parseImageList, VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { encodePickledDictNpy } from './npy-dict-writer.ts';

const W = 12;
const H = 8;
const IDS = ['2007_000032', '2007_000039', '2008_000123'];
// VOC labels: aeroplane 1, bicycle 2, person 15, tvmonitor 20.
const OBJECTS: Record<string, string[]> = { '2007_000032': ['aeroplane', 'aeroplane', 'person'], '2007_000039': ['tvmonitor'], '2008_000123': ['bicycle', 'person'] };
const LABEL_OF: Record<string, number> = { aeroplane: 1, bicycle: 2, person: 15, tvmonitor: 20 };

function maskFor(id: string): Uint8Array {
  const labels = [...new Set(OBJECTS[id].map((n) => LABEL_OF[n]))];
  return Uint8Array.from({ length: W * H }, (_, i) => {
    const x = i % W;
    if (x === 5) return 255;
    return x < 2 ? 0 : labels[x % labels.length];
  });
}

function annotation(id: string): string {
  const objs = OBJECTS[id].map((n) => `  <object>\n    <name>${n}</name>\n    <pose>Left</pose>\n    <difficult>0</difficult>\n    <part><name>head</name></part>\n  </object>`).join('\n');
  return `<annotation>\n  <folder>VOC2012</folder>\n  <filename>${id}.jpg</filename>\n${objs}\n</annotation>\n`;
}

async function makeTree(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'wsss-voc-'));
  const voc = join(root, 'VOCdevkit', 'VOC2012');
  for (const d of ['JPEGImages', 'SegmentationClass', 'SegmentationClassAug', 'Annotations', 'ImageSets/Segmentation']) mkdirSync(join(voc, d), { recursive: true });
  for (const [k, id] of IDS.entries()) {
    const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * (k + 3)) % 256);
    writeFileSync(join(voc, 'JPEGImages', `${id}.jpg`), await encodeJpeg({ width: W, height: H, data: rgb }));
    writeFileSync(join(voc, 'SegmentationClass', `${id}.png`), encodeIndexedPng({ width: W, height: H, data: maskFor(id) }));
    writeFileSync(join(voc, 'SegmentationClassAug', `${id}.png`), encodeGreyPng({ width: W, height: H, data: maskFor(id) }));
    writeFileSync(join(voc, 'Annotations', `${id}.xml`), annotation(id));
  }
  writeFileSync(join(voc, 'ImageSets/Segmentation/train.txt'), `${IDS[0]}\n${IDS[1]}\n`);
  writeFileSync(join(voc, 'ImageSets/Segmentation/val.txt'), `${IDS[2]}\n`);
  // The reference repos' list style, with paths and both files per line.
  writeFileSync(join(voc, 'ImageSets/Segmentation/train_aug.txt'), IDS.map((id) => `/JPEGImages/${id}.jpg /SegmentationClassAug/${id}.png`).join('\n') + '\n');
  return root;
}

test('image lists and annotation XML parsing', () => {
  assert.deepEqual(parseImageList('a\n\n# note\n/JPEGImages/b.jpg /SegmentationClassAug/b.png\r\nc.png\n'), ['a', 'b', 'c']);
  assert.deepEqual(parseAnnotationObjectNames(annotation('2008_000123')), ['bicycle', 'person']);
});

test('VOC2012 layout: finds VOC2012 under VOCdevkit, lists, Annotations labels, palette masks, samples', async () => {
  const root = await makeTree();
  try {
    const ds = VocDataset.open(root);
    assert.equal(ds.layout, 'voc2012');
    assert.equal(ds.numClasses, 21);
    assert.equal(ds.labelSource, 'Annotations');
    assert.deepEqual(ds.ids('train'), IDS.slice(0, 2));
    assert.deepEqual(ds.ids('train_aug'), IDS);
    assert.deepEqual(await ds.labels('2007_000032'), [1, 15]);
    assert.deepEqual(await ds.labels('2008_000123'), [2, 15]);
    const s = await ds.sample('2007_000039');
    assert.equal(s.image.width, W);
    assert.equal(s.image.height, H);
    assert.deepEqual(s.mask!.data, maskFor('2007_000039'));
    assert.deepEqual(s.labels, [20]);
    assert.throws(() => ds.ids('nope'), /no image list "nope"/);
    // An annotation naming a class outside the data set's classes.
    writeFileSync(join(ds.root, 'Annotations', '2007_000039.xml'), annotation('2007_000039').replace('tvmonitor', 'unicorn'));
    await assert.rejects(ds.labels('2007_000039'), /2007_000039\.xml: object class "unicorn" is not one of the 20 classes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('SBD aug layout with the reference repos\' cls_labels.npy (string and int keys)', async () => {
  const root = await makeTree();
  try {
    const voc = join(root, 'VOCdevkit', 'VOC2012');
    rmSync(join(voc, 'SegmentationClass'), { recursive: true });
    const hot = (labels: number[]) => Float32Array.from({ length: 20 }, (_, i) => (labels.includes(i + 1) ? 1 : 0));
    // PSA writes string keys, IRN-derived repos int-encoded names: both in one file here.
    const npy = join(root, 'cls_labels.npy');
    writeFileSync(npy, encodePickledDictNpy([
      ['2007_000032', { shape: [20], data: hot([1, 15]) }],
      [2007000039, { shape: [20], data: hot([20]) }],
      [2008000123, { shape: [20], data: hot([2, 15]) }],
    ]));
    const ds = VocDataset.open(voc, { clsLabels: npy });
    assert.equal(ds.layout, 'sbd-aug');
    assert.equal(ds.labelSource, npy);
    for (const id of ds.ids('train_aug')) {
      const s = await ds.sample(id);
      assert.deepEqual(s.mask!.data, maskFor(id), id);
      assert.deepEqual(s.labels, [...new Set(OBJECTS[id].map((n) => LABEL_OF[n]))].sort((a, b) => a - b), id);
    }
    // A mask holding a label outside the 21 classes is rejected with file and pixel.
    const bad = maskFor(IDS[0]);
    bad[W + 3] = 40;
    writeFileSync(join(voc, 'SegmentationClassAug', `${IDS[0]}.png`), encodeGreyPng({ width: W, height: H, data: bad }));
    await assert.rejects(ds.readMask(IDS[0]), /2007_000032\.png: label 40 at pixel \(3,1\) is outside the 21 classes/);
    // A truncated JPEG is reported with its path.
    writeFileSync(join(voc, 'JPEGImages', `${IDS[1]}.jpg`), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]));
    await assert.rejects(ds.sample(IDS[1]), /2007_000039\.jpg: cannot decode image/);
    assert.throws(() => VocDataset.open(join(root, 'missing')), /data set folder not found/);
    assert.throws(() => VocDataset.open(voc, { clsLabels: join(root, 'none.npy') }), /none\.npy: image-label file not found/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
