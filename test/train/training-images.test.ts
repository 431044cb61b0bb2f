// The streamed training loader (worker threads, a few steps ahead) gives exactly the crops of the
// in-memory one, so a run trains to the same parameters with either, and resumes across them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { batchIndices } from '../../graphs/methods/batch-order.ts';
import { openTrainingImages } from '../../train/data/training-images.ts';
import { trainMethod } from '../../train/method-trainer.ts';
import { openRun } from '../../train/run-model.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

let root: string;
let data: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsss-loader-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 9), train: 12, val: 1 });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('streamed and in-memory loaders give the same batches (label-map crops included), steps asked in any order', async () => {
  const common = { data, split: 'train', seed: 4, crop: 40, labels: join(data, 'SegmentationClass'), augment: { scale: [0.7, 1.3] as [number, number], flip: true, colorJitter: { brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05 } } };
  const indicesAt = (step: number) => batchIndices(12, 4, step, 4);
  const mem = await openTrainingImages({ ...common, indicesAt, loader: 'memory' });
  const str = await openTrainingImages({ ...common, indicesAt, loader: 'stream', workers: 2, prefetchSteps: 2 });
  try {
    assert.deepEqual(str.targets, mem.targets);
    for (const step of [0, 1, 2, 5, 3, 7]) {
      const a = await mem.batch(step);
      const b = await str.batch(step);
      assert.deepEqual(b.indices, a.indices);
      assert.equal(b.pixels.length, 4 * 40 * 40 * 3);
      assert.ok(a.pixels.some((v) => v > 0), 'crops hold pixels');
      assert.deepEqual(b.pixels, a.pixels, `step ${step}`);
      assert.equal(a.labels!.length, 4 * 40 * 40);
      assert.ok(a.labels!.some((v) => v > 0 && v < 255), 'label crops hold classes');
      assert.deepEqual(b.labels, a.labels, `labels, step ${step}`);
    }
  } finally {
    await mem.close();
    await str.close();
  }
});

test('a run trained with the streamed loader, killed and resumed in memory, equals one in memory', async () => {
  await startTfjs();
  const cfg = (out: string, loader: 'memory' | 'stream', stopAfter?: number) => ({
    method: 'cam', backbone: 'cam-tiny-w4', options: {}, data, split: 'train',
    hyper: { epochs: 2, batch: 4, crop: 32, lr: 0.02, warmup: 0 }, seed: 2, outDir: join(root, out), checkpointEvery: 2,
    augment: { scale: [0.9, 1.1] as [number, number], flip: true }, maxSteps: 5, progress: false, loader, stopAfter,
  });
  await trainMethod(cfg('memory', 'memory'));
  await trainMethod(cfg('mixed', 'stream', 2));
  const resumed = await trainMethod(cfg('mixed', 'memory'));
  assert.equal(resumed.resumedFrom, 2);
  const a = openRun(join(root, 'memory')).values;
  const b = openRun(join(root, 'mixed')).values;
  for (const [name, v] of a) assert.deepEqual(b.get(name)!.data, v.data, name);
});
