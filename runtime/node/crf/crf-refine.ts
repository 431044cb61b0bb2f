// `wsss refine`: the dense CRF over a folder of probability maps (or CAMs), one label PNG per image.
// Images come from a VOC-layout data set or a plain folder; each <id>.npy in --probs is refined
// with the image <id>.*. Outputs are written atomically, existing ones are skipped (a rerun
// resumes), and a bad input is reported and the batch goes on.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { camCrfLabels } from '../../crf/cam-crf.ts';
import { denseCrfLabels, type CrfEngine } from '../../crf/dense-crf.ts';
import type { CrfParams } from '../../crf/params.ts';
import { removeStaleTempFiles, writeFileAtomicSync } from '../files/atomic-write.ts';
import { decodeImageFile } from '../dataset/decode-image.ts';
import { readNpyFloat32 } from '../files/npy.ts';
import { encodeIndexedPng } from '../files/palette-png.ts';
import { runResumableBatch, type BatchTally } from '../resumable-batch.ts';
import { VocDataset } from '../dataset/voc-dataset.ts';

export interface RefineOptions {
  /** VOC-layout root (JPEGImages/) or a folder of images */
  data: string;
  /** folder of <id>.npy float32 [C, H, W] */
  probs: string;
  out: string;
  params: CrfParams;
  engine: CrfEngine;
  threads?: number;
  /** ids to refine (default: every .npy in probs) */
  ids?: string[];
  /**
   * The maps are foreground CAMs [K, H, W] (as `wsss pseudo-label` writes them), not
   * probabilities with a background channel: background (1 − max CAM)^alpha is added and labels
   * are 0 background, k + 1 for class k.
   */
  cams?: { alpha: number; useImageLabels: boolean };
  progress?: boolean;
}

export interface RefineSummary extends Omit<BatchTally, 'done'> {
  refined: number;
  engine: string;
  out: string;
}

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'];

export async function refineWithCrf(o: RefineOptions): Promise<RefineSummary> {
  if (!existsSync(o.probs)) throw new Error(`${o.probs}: probability folder not found`);
  if (!existsSync(o.data)) throw new Error(`${o.data}: image folder not found`);
  const voc = existsSync(join(o.data, 'JPEGImages')) ? VocDataset.open(o.data) : null;
  if (o.cams?.useImageLabels && !voc) throw new Error(`--use-image-labels needs a VOC-layout data set with image labels, and ${o.data} has no JPEGImages folder`);
  const imagePath = (id: string): string | null => {
    if (voc) return voc.imagePath(id);
    for (const ext of IMAGE_EXTENSIONS) if (existsSync(join(o.data, id + ext))) return join(o.data, id + ext);
    return null;
  };
  const ids = o.ids ?? readdirSync(o.probs).filter((f) => f.endsWith('.npy')).map((f) => f.slice(0, -4)).sort();
  mkdirSync(o.out, { recursive: true });
  removeStaleTempFiles(o.out);
  const outPath = (id: string) => join(o.out, `${id}.png`);
  const tally = await runResumableBatch({
    ids,
    outputOf: outPath,
    progressLabel: o.progress === false ? null : 'refine',
    async work(id) {
      const probsFile = join(o.probs, `${id}.npy`);
      const path = imagePath(id);
      if (!path || !existsSync(path)) throw new Error(`no image for ${id} in ${o.data}`);
      if (!existsSync(probsFile)) throw new Error(`${probsFile} not found`);
      const image = await decodeImageFile(path);
      const maps = readNpyFloat32(probsFile);
      let labels: Uint8Array;
      if (o.cams) {
        if (maps.shape.length !== 3 || maps.shape[1] !== image.height || maps.shape[2] !== image.width)
          throw new Error(`${probsFile}: CAMs are [${maps.shape.join(', ')}] but the image ${path} is ${image.width}×${image.height} (want [K, ${image.height}, ${image.width}])`);
        const keep = o.cams.useImageLabels ? (await voc!.labels(id)).map((l) => l - 1) : undefined;
        labels = camCrfLabels(o.engine, image, maps.data, maps.shape[0], keep, { params: o.params, alpha: o.cams.alpha, threads: o.threads }, probsFile);
      } else {
        labels = denseCrfLabels(o.engine, image, { data: maps.data, dims: maps.shape }, o.params, { threads: o.threads, source: `${probsFile} with ${path}` });
      }
      writeFileAtomicSync(outPath(id), encodeIndexedPng({ data: labels, width: image.width, height: image.height }), { ensureDir: false });
    },
  });
  const { done, ...counts } = tally;
  return {
    ...counts,
    refined: done,
    engine: o.engine.name,
    out: o.out,
  };
}
