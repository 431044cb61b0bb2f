// Where a training step's augmented crops come from. Two sources with one rule for every crop
// (augmentedCrop: the augmentation stream of image j of step s is seeded from (seed, s, j), so a
// resumed run and either source give the same pixels):
//   - in memory: the list decoded once (fast for small sets such as the synthetic benchmark);
//   - streamed: images decoded and augmented in worker threads, a few steps ahead of the training
//     step, so memory stays bounded whatever the list length (a VOC train_aug-sized list of
//     10,582 images is never decoded at once) and decoding overlaps the step.
// Image-level labels are small and always read up front.

import { availableParallelism } from 'node:os';
import { Rng } from '../../graphs/rng.ts';
import { decodeImageRgb, type RgbImage } from '../../runtime/node/dataset/images.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { WorkerPool } from '../../runtime/node/worker-pool.ts';
import { augmentSample, toAugSample, type AugmentOptions } from './augment.ts';
import type { CropTask } from './training-images-worker.ts';

export interface CropRule {
  seed: number;
  augment: AugmentOptions;
  crop: number;
}

/** The augmented crop [crop, crop, 3] (HWC float32, 0..255) of batch item j of step `step`. */
export function augmentedCrop(img: RgbImage, step: number, j: number, r: CropRule): Float32Array {
  const rng = new Rng((r.seed * 1_000_003 + step) * 131 + j);
  return augmentSample(toAugSample(img), rng, { ...r.augment, crop: r.crop }).sample.image;
}

export interface TrainingImages {
  ids: string[];
  classNames: string[];
  /** Per image: [C] with 1 for each class present (class i = label i + 1). */
  targets: Float32Array[];
  /** The crops of step `step` (images `indicesAt(step)`), NHWC [n, crop, crop, 3]. */
  batch(step: number): Promise<{ indices: number[]; pixels: Float32Array }>;
  close(): Promise<void>;
}

export interface TrainingImagesOptions extends CropRule {
  data: string;
  split: string;
  /** Which images a step uses (the method's sampler or the default shuffle). */
  indicesAt(step: number): number[];
  /** 'memory' decodes the list once; 'stream' decodes per step in worker threads. */
  loader: 'memory' | 'stream';
  /** Streaming: steps prepared ahead of the one being trained (default 3). */
  prefetchSteps?: number;
  /** Streaming: worker threads (default: the cores minus one, at least 1). */
  workers?: number;
}

async function readLabels(ds: VocDataset, ids: string[]): Promise<Float32Array[]> {
  const c = ds.classNames.length;
  return Promise.all(
    ids.map(async (id) => {
      const t = new Float32Array(c);
      for (const l of await ds.labels(id)) t[l - 1] = 1;
      return t;
    }),
  );
}

export async function openTrainingImages(o: TrainingImagesOptions): Promise<TrainingImages> {
  const ds = VocDataset.open(o.data);
  const ids = ds.ids(o.split);
  if (!ids.length) throw new Error(`${o.data}: split '${o.split}' is empty`);
  const targets = await readLabels(ds, ids);
  const base = { ids, classNames: ds.classNames, targets };
  const pixelsOf = (crops: Float32Array[]) => {
    const size = o.crop * o.crop * 3;
    const out = new Float32Array(crops.length * size);
    crops.forEach((c, j) => out.set(c, j * size));
    return out;
  };

  if (o.loader === 'memory') {
    const images: RgbImage[] = [];
    const width = Math.max(2, availableParallelism());
    for (let i = 0; i < ids.length; i += width)
      images.push(...(await Promise.all(ids.slice(i, i + width).map((id) => decodeImageRgb(ds.imagePath(id))))));
    return {
      ...base,
      async batch(step) {
        const indices = o.indicesAt(step);
        return { indices, pixels: pixelsOf(indices.map((i, j) => augmentedCrop(images[i], step, j, o))) };
      },
      async close() {},
    };
  }

  const pool = new WorkerPool<CropTask, Float32Array>(new URL('./training-images-worker.ts', import.meta.url), o.workers ?? Math.max(1, availableParallelism() - 1));
  const ahead = o.prefetchSteps ?? 3;
  const pending = new Map<number, Promise<{ indices: number[]; pixels: Float32Array }>>();
  const request = (step: number) => {
    let p = pending.get(step);
    if (!p) {
      const indices = o.indicesAt(step);
      const rule: CropRule = { seed: o.seed, augment: o.augment, crop: o.crop };
      p = Promise.all(indices.map((i, j) => pool.run({ path: ds.imagePath(ids[i]), step, j, rule }))).then((crops) => ({ indices, pixels: pixelsOf(crops) }));
      // A failure surfaces when the step asks for its batch, not as an unhandled rejection.
      p.catch(() => {});
      pending.set(step, p);
    }
    return p;
  };
  return {
    ...base,
    async batch(step) {
      for (let s = step; s <= step + ahead; s++) request(s);
      const b = await request(step);
      pending.delete(step);
      // Steps behind this one (a resumed run) are never asked for again.
      for (const s of pending.keys()) if (s < step) pending.delete(s);
      return b;
    },
    close: () => pool.close(),
  };
}
