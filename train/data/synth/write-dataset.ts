// Writes the synthetic benchmark to disk in PASCAL VOC layout:
//   JPEGImages/<id>.jpg               image
//   SegmentationClass/<id>.png        palette PNG, 0 = background, 1..K = class, 255 = border band
//   SaliencyMaps/<id>.png             8-bit grey simulated salient-object map
//   PartMasks/<id>.png                palette PNG of PART codes (0 bg, 1 body, 2 head, 3 distractor, 255)
//   ImageSets/Segmentation/{train,val}.txt
//   cls_labels.json                   {id: multi-hot over the K classes}
//   objects.json                      {id: per-object geometry, cue, saliency outcome}
//   synth.json                        every generator parameter, the classes, counts (written last)
//
// Reproducible: image i of a split draws from its own stream seeded by (seed, split, i), and all
// encoders run with fixed options, so a seed always yields the same bytes — and a resumed run
// the same files as an uninterrupted one. Atomic at two levels: every file is written to a
// temp name and renamed, and the whole set is built in "<out>.partial" and renamed to <out> when
// complete, so <out> either does not exist or is a complete data set.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Rng } from '../../../graphs/rng.ts';
import { PART } from '../../../runtime/metrics/part-recall.ts';
import { removeStaleTempFiles, writeFileAtomic } from '../../../runtime/node/files/atomic-write.ts';
import { encodeJpeg } from '../../../runtime/node/dataset/images.ts';
import { encodeGreyPng, encodeIndexedPng } from '../../../runtime/node/files/palette-png.ts';
import { vocPalette } from '../../../runtime/voc-palette.ts';
import { synthClasses, validateSynthParams, type SynthParams } from './params.ts';
import { renderSynthSample, type SynthObjectRecord } from './render.ts';

/**
 * Version of the generator (synth.json `version`): bump when the same parameters would draw
 * different images, so results name the benchmark they came from.
 *   1: body cues alternate orientation (x for even classes, y for odd ones), 4 periods shared by pairs.
 *   2: every class's cue is a wave along x with a period of its own (SGD learned one orientation only).
 */
export const SYNTH_FORMAT_VERSION = 2;

export const SYNTH_SPLITS = ['train', 'val'] as const;
export type SynthSplit = (typeof SYNTH_SPLITS)[number];

const DIRS = { image: 'JPEGImages', label: 'SegmentationClass', saliency: 'SaliencyMaps', parts: 'PartMasks' } as const;

/** Image id: split name and index, e.g. "train_000042". */
export function synthImageId(split: SynthSplit, index: number): string {
  return `${split}_${String(index).padStart(6, '0')}`;
}

/** Seed of one image's random stream, mixed from (data set seed, split, index) with a 32-bit avalanche hash. */
export function synthImageSeed(seed: number, split: SynthSplit, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [SYNTH_SPLITS.indexOf(split) + 1, index]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

export interface SynthMetadataFile {
  format: 'wsss-synth';
  version: number;
  params: SynthParams;
  classNames: string[];
  classes: ReturnType<typeof synthClasses>;
  splits: Record<SynthSplit, number>;
  partCodes: typeof PART;
  layout: Record<string, string>;
  stats: SynthStats;
}

export interface SynthStats {
  objects: number;
  meanObjectsPerImage: number;
  /** Objects per class name, both splits. */
  objectsPerClass: Record<string, number>;
  /** Objects that found no free place in a crowded image (not drawn). */
  droppedObjects: number;
  /** Images that ended up with no labelled object. */
  imagesWithoutObjects: number;
  ignoreFraction: number;
  headFraction: number;
  bodyFraction: number;
  salientObjectRate: number;
}

/** A data set is refused (not written) when more than this fraction of its images has no object. */
export const MAX_EMPTY_IMAGE_FRACTION = 0.01;

export interface SynthWriteResult {
  out: string;
  /** 'created' (generated now, possibly resuming a .partial), or 'exists' (a complete identical set was already there). */
  status: 'created' | 'exists';
  images: number;
  /** Images rendered but found already written in a resumed .partial folder. */
  resumed: number;
  seconds: number;
  /** The data set's statistics (synth.json `stats`). */
  stats: SynthStats;
}

function paramsKey(p: SynthParams): string {
  return JSON.stringify({ version: SYNTH_FORMAT_VERSION, params: p });
}

function isNonEmptyDir(p: string): boolean {
  try {
    return statSync(p).isDirectory() && readdirSync(p).length > 0;
  } catch {
    return false;
  }
}

/**
 * Generates the data set into `outDir`. If `outDir` already holds a complete data set with the
 * same parameters, nothing is written ('exists'); with other parameters, or if it holds anything
 * else, it refuses (throws) rather than mixing two data sets.
 */
export async function writeSynthDataset(
  outDir: string,
  params: SynthParams,
  opts: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<SynthWriteResult> {
  validateSynthParams(params);
  const t0 = performance.now();
  const out = resolve(outDir);
  const total = params.train + params.val;
  const metaPath = join(out, 'synth.json');
  if (existsSync(metaPath)) {
    let prev: SynthMetadataFile | null = null;
    try {
      prev = JSON.parse(readFileSync(metaPath, 'utf8')) as SynthMetadataFile;
    } catch {
      /* handled below */
    }
    if (prev && paramsKey(prev.params) === paramsKey(params) && prev.version === SYNTH_FORMAT_VERSION)
      return { out, status: 'exists', images: total, resumed: 0, seconds: (performance.now() - t0) / 1000, stats: prev.stats };
    throw new Error(
      `${out} already holds a synthetic data set with different parameters (${prev ? `seed ${prev.params?.seed}, size ${prev.params?.size}, ${prev.params?.train}/${prev.params?.val} images` : 'unreadable synth.json'}); ` +
        'choose another --out or delete it first',
    );
  }
  if (isNonEmptyDir(out)) throw new Error(`${out} exists and is not a wsss synthetic data set (no synth.json); choose an empty or new folder`);

  // Build in <out>.partial; resume it when it was started with the same parameters.
  const staging = `${out}.partial`;
  const stampPath = join(staging, '.synth-params.json');
  if (existsSync(staging)) {
    const same = existsSync(stampPath) && readFileSync(stampPath, 'utf8') === paramsKey(params);
    if (!same) await rm(staging, { recursive: true, force: true });
  }
  for (const d of Object.values(DIRS)) await mkdir(join(staging, d), { recursive: true });
  await mkdir(join(staging, 'ImageSets', 'Segmentation'), { recursive: true });
  for (const d of Object.values(DIRS)) removeStaleTempFiles(join(staging, d));
  await writeFileAtomic(stampPath, paramsKey(params));

  const classes = synthClasses(params);
  const palette = vocPalette(256);
  const jobs: { split: SynthSplit; index: number }[] = [];
  for (const split of SYNTH_SPLITS) for (let i = 0; i < params[split]; i++) jobs.push({ split, index: i });
  const clsLabels: Record<string, number[]> = {};
  const objects: Record<string, { objects: SynthObjectRecord[]; distractors: number }> = {};
  const stats = { objects: 0, ignore: 0, head: 0, body: 0, pixels: 0, salient: 0, dropped: 0, empty: 0 };
  const perClass = new Array<number>(params.numClasses).fill(0);
  let next = 0;
  let done = 0;
  let resumed = 0;

  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const id = synthImageId(job.split, job.index);
      const sample = renderSynthSample(params, classes, new Rng(synthImageSeed(params.seed, job.split, job.index)));
      const hot = Array<number>(params.numClasses).fill(0);
      for (const l of sample.labels) hot[l - 1] = 1;
      clsLabels[id] = hot;
      objects[id] = { objects: sample.objects, distractors: sample.distractors };
      stats.objects += sample.objects.length;
      stats.dropped += sample.droppedObjects;
      if (!sample.objects.length) stats.empty++;
      for (const o of sample.objects) perClass[o.label - 1]++;
      stats.salient += sample.objects.filter((o) => o.salient).length;
      stats.pixels += sample.label.length;
      for (let i = 0; i < sample.parts.length; i++) {
        const v = sample.parts[i];
        if (v === PART.ignore) stats.ignore++;
        else if (v === PART.head) stats.head++;
        else if (v === PART.body) stats.body++;
      }
      const paths = {
        image: join(staging, DIRS.image, `${id}.jpg`),
        label: join(staging, DIRS.label, `${id}.png`),
        saliency: join(staging, DIRS.saliency, `${id}.png`),
        parts: join(staging, DIRS.parts, `${id}.png`),
      };
      // Files are written atomically, so existing ones are complete: a resumed run skips them.
      if (Object.values(paths).every((p) => existsSync(p))) resumed++;
      else {
        const S = params.size;
        const jpeg = await encodeJpeg({ width: S, height: S, data: sample.rgb }, params.jpegQuality);
        await Promise.all([
          writeFileAtomic(paths.label, encodeIndexedPng({ width: S, height: S, data: sample.label }, palette)),
          writeFileAtomic(paths.saliency, encodeGreyPng({ width: S, height: S, data: sample.saliency })),
          writeFileAtomic(paths.parts, encodeIndexedPng({ width: S, height: S, data: sample.parts }, palette)),
        ]);
        // The image last: its presence marks the id as complete for a resume.
        await writeFileAtomic(paths.image, jpeg);
      }
      done++;
      opts.onProgress?.(done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));

  // A data set whose images lack the objects they were meant to have is useless for training:
  // refuse it and remove the staging folder (a rerun with the same parameters would fail again).
  if (stats.empty > MAX_EMPTY_IMAGE_FRACTION * total) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `${out}: ${stats.empty} of ${total} images have no object (${stats.dropped} objects found no place); ` +
        'the object sizes (bodyRadius, headRadius, headScale) or objectsPerImage/maxOverlap leave no room. Nothing was written.',
    );
  }

  // Side files in id order (workers finish out of order), so their bytes do not depend on timing.
  const ordered = <T>(rec: Record<string, T>): Record<string, T> => Object.fromEntries(jobs.map((j) => synthImageId(j.split, j.index)).map((id) => [id, rec[id]]));
  for (const split of SYNTH_SPLITS) {
    const ids = jobs.filter((j) => j.split === split).map((j) => synthImageId(split, j.index));
    await writeFileAtomic(join(staging, 'ImageSets', 'Segmentation', `${split}.txt`), ids.map((x) => `${x}\n`).join(''));
  }
  await writeFileAtomic(join(staging, 'cls_labels.json'), JSON.stringify(ordered(clsLabels)) + '\n');
  await writeFileAtomic(join(staging, 'objects.json'), JSON.stringify(ordered(objects)) + '\n');
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const meta: SynthMetadataFile = {
    format: 'wsss-synth',
    version: SYNTH_FORMAT_VERSION,
    params,
    classNames: classes.map((c) => c.name),
    classes,
    splits: { train: params.train, val: params.val },
    partCodes: PART,
    layout: {
      'JPEGImages/<id>.jpg': 'RGB image',
      'SegmentationClass/<id>.png': 'palette PNG: 0 background, i+1 = classNames[i], 255 ignore band on object borders',
      'SaliencyMaps/<id>.png': 'grey PNG 0..255: simulated salient-object detector output',
      'PartMasks/<id>.png': 'palette PNG: 0 background, 1 body, 2 head (discriminative part), 3 distractor, 255 ignore',
      'ImageSets/Segmentation/{train,val}.txt': 'image ids, one per line',
      'cls_labels.json': '{id: multi-hot over classNames}',
      'objects.json': '{id: {objects: [...], distractors}}: geometry, body cue and saliency outcome of each object',
    },
    stats: {
      objects: stats.objects,
      meanObjectsPerImage: r4(stats.objects / total),
      objectsPerClass: Object.fromEntries(classes.map((c, i) => [c.name, perClass[i]])),
      droppedObjects: stats.dropped,
      imagesWithoutObjects: stats.empty,
      ignoreFraction: r4(stats.ignore / stats.pixels),
      headFraction: r4(stats.head / stats.pixels),
      bodyFraction: r4(stats.body / stats.pixels),
      salientObjectRate: r4(stats.salient / Math.max(1, stats.objects)),
    },
  };
  await writeFileAtomic(join(staging, 'synth.json'), JSON.stringify(meta, null, 2) + '\n');
  await rm(stampPath, { force: true });
  // An empty existing <out> is replaced; rename() swaps the finished set in as a whole.
  if (existsSync(out)) await rmdir(out);
  await rename(staging, out);
  return { out, status: 'created', images: total, resumed, seconds: (performance.now() - t0) / 1000, stats: meta.stats };
}
