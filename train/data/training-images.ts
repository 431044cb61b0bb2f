// Where a training step's augmented crops come from. Two sources with one rule for every crop
// (augmentedCrop: the augmentation stream of image j of step s is seeded from (seed, s, j), so a
// resumed run and either source give the same pixels):
//   - in memory: the list decoded once (fast for small sets such as the synthetic benchmark);
//   - streamed: images decoded and augmented in worker threads, a few steps ahead of the training
//     step, so memory stays bounded whatever the list length (a VOC train_aug-sized list of
//     10,582 images is never decoded at once) and decoding overlaps the step.
// Image-level labels are small and always read up front. Methods that train on label maps
// (`wsss train --labels DIR`, e.g. DeepLab on pseudo-labels) get each crop's labels too: the map
// goes through the same augmentation draws as its image (nearest neighbour, padding 255).

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../graphs/rng.ts';
import { decodeImageRgb, type RgbImage } from '../../runtime/node/dataset/images.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { IGNORE_LABEL } from '../../runtime/voc-palette.ts';
import { WorkerPool } from '../../runtime/node/worker-pool.ts';
import { augmentSample, toAugSample, type AugmentOptions } from './augment.ts';
import type { CropResult, CropTask } from './training-images-worker.ts';

export interface CropRule {
  seed: number;
  augment: AugmentOptions;
  crop: number;
}

/** The augmented crop [crop, crop, 3] (HWC float32, 0..255) of batch item j of step `step`. */
export function augmentedCrop(img: RgbImage, step: number, j: number, r: CropRule): Float32Array {
  return augmentedCropWithLabels(img, null, step, j, r).image;
}

/**
 * augmentedCrop and, given the image's label map, its crop [crop, crop] with the same draws
 * (the draws do not depend on the map, so the image crop is augmentedCrop's either way).
 */
export function augmentedCropWithLabels(img: RgbImage, labels: Uint8Array | null, step: number, j: number, r: CropRule): { image: Float32Array; labels: Uint8Array | null } {
  const rng = new Rng((r.seed * 1_000_003 + step) * 131 + j);
  const { sample } = augmentSample(toAugSample(img, labels), rng, { ...r.augment, crop: r.crop });
  return { image: sample.image, labels: sample.label ?? null };
}

/**
 * The folder of an image list's label maps: DIR itself when it holds <id>.png, else DIR/labels
 * (a `wsss pseudo-label` output folder). Every id needs its file; the error names the first missing.
 */
export function resolveLabelDir(dir: string, ids: string[]): string {
  if (!ids.length) return dir;
  const folder = !existsSync(join(dir, `${ids[0]}.png`)) && existsSync(join(dir, 'labels', `${ids[0]}.png`)) ? join(dir, 'labels') : dir;
  const missing = ids.filter((id) => !existsSync(join(folder, `${id}.png`)));
  if (missing.length) throw new Error(`--labels ${dir}: ${missing.length} of ${ids.length} images have no label map, e.g. ${join(folder, `${missing[0]}.png`)}`);
  return folder;
}

/** An image's label map, checked against the image's size and the class count (labels 0..C, 255 ignored). */
export async function readTrainingLabels(path: string, width: number, height: number, numClasses: number): Promise<Uint8Array> {
  const l = await readLabelPng(path);
  if (l.width !== width || l.height !== height) throw new Error(`${path}: label map is ${l.width}×${l.height}, its image ${width}×${height}`);
  for (const v of l.data) if (v > numClasses && v !== IGNORE_LABEL) throw new Error(`${path}: label ${v} is neither a class (0..${numClasses}) nor ${IGNORE_LABEL} (ignored)`);
  return l.data;
}

export interface TrainingBatch {
  indices: number[];
  pixels: Float32Array;
  /** Label-map crops (0 background, 1..C, 255 ignored) when the source has label maps. */
  labels: Uint8Array | null;
}

export interface TrainingImages {
  ids: string[];
  classNames: string[];
  /** Per image: [C] with 1 for each class present (class i = label i + 1). */
  targets: Float32Array[];
  /** The crops of step `step` (images `indicesAt(step)`), NHWC [n, crop, crop, 3]; with label maps, their crops [n, crop, crop]. */
  batch(step: number): Promise<TrainingBatch>;
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
  /** Folder of label maps <id>.png (or a `wsss pseudo-label` output holding labels/): each crop's labels come along. */
  labels?: string;
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
  const labelDir = o.labels ? resolveLabelDir(o.labels, ids) : null;
  const numClasses = ds.classNames.length;
  const assemble = (indices: number[], crops: { image: Float32Array; labels: Uint8Array | null }[]): TrainingBatch => {
    const size = o.crop * o.crop;
    const pixels = new Float32Array(crops.length * size * 3);
    crops.forEach((c, j) => pixels.set(c.image, j * size * 3));
    let labels: Uint8Array | null = null;
    if (labelDir) {
      labels = new Uint8Array(crops.length * size);
      crops.forEach((c, j) => labels!.set(c.labels!, j * size));
    }
    return { indices, pixels, labels };
  };

  if (o.loader === 'memory') {
    const images: RgbImage[] = [];
    const maps: (Uint8Array | null)[] = [];
    const width = Math.max(2, availableParallelism());
    for (let i = 0; i < ids.length; i += width) {
      const chunk = ids.slice(i, i + width);
      const decoded = await Promise.all(chunk.map((id) => decodeImageRgb(ds.imagePath(id))));
      images.push(...decoded);
      maps.push(...(await Promise.all(chunk.map((id, k) => (labelDir ? readTrainingLabels(join(labelDir, `${id}.png`), decoded[k].width, decoded[k].height, numClasses) : null)))));
    }
    return {
      ...base,
      async batch(step) {
        const indices = o.indicesAt(step);
        return assemble(indices, indices.map((i, j) => augmentedCropWithLabels(images[i], maps[i], step, j, o)));
      },
      async close() {},
    };
  }

  const pool = new WorkerPool<CropTask, CropResult>(new URL('./training-images-worker.ts', import.meta.url), o.workers ?? Math.max(1, availableParallelism() - 1));
  const ahead = o.prefetchSteps ?? 3;
  const pending = new Map<number, Promise<TrainingBatch>>();
  const request = (step: number) => {
    let p = pending.get(step);
    if (!p) {
      const indices = o.indicesAt(step);
      const rule: CropRule = { seed: o.seed, augment: o.augment, crop: o.crop };
      const labelsOf = (i: number) => (labelDir ? { path: join(labelDir, `${ids[i]}.png`), numClasses } : undefined);
      p = Promise.all(indices.map((i, j) => pool.run({ path: ds.imagePath(ids[i]), labels: labelsOf(i), step, j, rule }))).then((crops) => assemble(indices, crops));
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
