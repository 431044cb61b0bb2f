// The images calibration runs on: a folder of images, or a VOC-layout data set (its train list
// when it has one, so the val split stays unseen for evaluation). N images are taken evenly
// spread over the sorted list; a file that cannot be decoded is reported and skipped.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { preprocessImage } from '../../runtime/preprocess.ts';
import { decodeImageRgb } from '../../runtime/node/dataset/images.ts';
import type { CalibrationFeed } from './calibrate.ts';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff']);

/** Image paths of `dir` in a stable order (see header). */
export function calibrationImagePaths(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: calibration folder not found`);
  const jpeg = join(dir, 'JPEGImages');
  if (existsSync(jpeg)) {
    const list = join(dir, 'ImageSets', 'Segmentation', 'train.txt');
    const names = readdirSync(jpeg).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
    if (existsSync(list)) {
      const byStem = new Map(names.map((f) => [f.slice(0, -extname(f).length), f]));
      const ids = readFileSync(list, 'utf8').split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
      const picked = ids.map((id) => byStem.get(id.replace(/^\/?JPEGImages\//, '').replace(/\.[a-z]+$/i, ''))).filter((f): f is string => !!f);
      if (picked.length) return picked.map((f) => join(jpeg, f));
    }
    return names.map((f) => join(jpeg, f));
  }
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

/** `n` of `items`, evenly spread (all of them when n ≥ length). */
export function evenlySpread<T>(items: T[], n: number): T[] {
  if (n >= items.length) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

export interface LoadedCalibration {
  feeds: CalibrationFeed[];
  skipped: { file: string; error: string }[];
}

/**
 * Decodes `n` calibration images of `dir` into model inputs: RGB float32 [0,255] NCHW, or
 * normalised by `normalise` for models that take normalised input (bare backbones); images
 * larger than `maxSide` are shrunk as the runtime shrinks them.
 */
export async function loadCalibrationImages(dir: string, n: number, o: { maxSide?: number; normalise?: { mean: number[]; std: number[] } } = {}): Promise<LoadedCalibration> {
  const paths = evenlySpread(calibrationImagePaths(dir), n);
  if (paths.length === 0) throw new Error(`${dir}: no images to calibrate on (looked for ${[...IMAGE_EXT].join(', ')})`);
  const feeds: CalibrationFeed[] = [];
  const skipped: LoadedCalibration['skipped'] = [];
  for (const file of paths) {
    try {
      const img = await decodeImageRgb(file);
      const { tensor } = preprocessImage({ data: img.data, width: img.width, height: img.height, channels: 3 }, { maxSide: o.maxSide ?? 512 });
      const data = tensor.data;
      if (o.normalise) {
        const plane = tensor.width * tensor.height;
        for (let c = 0; c < 3; c++) for (let i = c * plane; i < (c + 1) * plane; i++) data[i] = (data[i] / 255 - o.normalise.mean[c]) / o.normalise.std[c];
      }
      feeds.push({ name: file, data, dims: [...tensor.dims] });
    } catch (e) {
      skipped.push({ file, error: (e as Error).message });
    }
  }
  if (feeds.length === 0) throw new Error(`${dir}: none of the ${paths.length} calibration images could be read (first: ${skipped[0]?.error})`);
  return { feeds, skipped };
}
