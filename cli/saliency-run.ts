// The work behind `wsss saliency`: a saliency map for every image of a data set from any ONNX
// saliency model, optionally with the paper's iterative erasing (runtime/saliency/
// iterative-erasing.ts), written as 8-bit grey PNGs <out>/<id>.png — the layout of a data set's
// SaliencyMaps/ that `wsss pseudo-label --fuse-saliency --saliency <out>` reads. Atomic writes,
// finished images skipped on a rerun, unreadable images reported by name.

import { mkdirSync } from 'node:fs';
import { decodeImageFile } from '../runtime/node/dataset/decode-image.ts';
import { removeStaleTempFiles, writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { encodeGreyPng } from '../runtime/node/files/palette-png.ts';
import { runResumableBatch, type BatchTally } from '../runtime/node/resumable-batch.ts';
import { openOnnxSaliencyDetector, type SaliencyInputRange } from '../runtime/node/saliency/onnx-saliency-detector.ts';
import { saliencyMapPath } from '../runtime/node/files/saliency-map.ts';
import { pixelsToPlanarRgb } from '../runtime/preprocess.ts';
import { saliencyWithErasing } from '../runtime/saliency/iterative-erasing.ts';
import { openDatasetList, type ModelOverDatasetOptions } from './dataset-list.ts';
import { CliError } from './errors.ts';

export interface SaliencyRunOptions extends ModelOverDatasetOptions {
  /** Iterative erasing with these thresholds (empty: the detector alone). */
  erase: number[];
  input: SaliencyInputRange;
  size?: number;
  quiet?: boolean;
}

export interface SaliencyRunSummary {
  images: number;
  processed: number;
  skipped_existing: number;
  failed: number;
  failures: string[];
  erasing_thresholds: number[];
  provider: string;
  seconds: number;
  out: string;
}

export async function runSaliency(o: SaliencyRunOptions): Promise<SaliencyRunSummary> {
  const { ds, ids } = openDatasetList(o.data, o.list, o.split);
  let detector;
  try {
    detector = await openOnnxSaliencyDetector(o.model, { providers: o.providers, input: o.input, size: o.size });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  mkdirSync(o.out, { recursive: true });
  removeStaleTempFiles(o.out);
  let tally: BatchTally;
  try {
    tally = await runResumableBatch({
      ids,
      outputOf: (id) => saliencyMapPath(o.out, id),
      progressLabel: o.quiet ? null : 'saliency',
      async work(id) {
        const px = await decodeImageFile(ds.imagePath(id));
        const img = { data: pixelsToPlanarRgb(px), height: px.height, width: px.width };
        const { saliency } = await saliencyWithErasing(detector.detect, img, o.erase);
        const grey = new Uint8Array(saliency.length);
        for (let i = 0; i < grey.length; i++) grey[i] = Math.round(255 * saliency[i]);
        writeFileAtomicSync(saliencyMapPath(o.out, id), encodeGreyPng({ width: px.width, height: px.height, data: grey }));
      },
    });
  } finally {
    await detector.release();
  }
  const failures = tally.failures.map((f) => `${ds.imagePath(f.id)}: ${f.reason}`);
  const summary: SaliencyRunSummary = {
    images: ids.length,
    processed: tally.done,
    skipped_existing: tally.skipped_existing,
    failed: tally.failed,
    failures,
    erasing_thresholds: o.erase,
    provider: detector.provider,
    seconds: tally.seconds,
    out: o.out,
  };
  for (const f of failures) console.error(`failed: ${f}`);
  if (!o.quiet) console.log(JSON.stringify(summary));
  return summary;
}

