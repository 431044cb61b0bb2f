// Batch pseudo-labelling of an image set with an exported CAM model: for each image,
// multi-scale + flip CAMs → label map, written as a palette PNG and the CAMs as .npy.
//
// Built to never lose work: every output is written atomically (temp + rename), an image is
// complete when both its files exist, so a rerun skips finished images and resumes after a
// kill with the same bytes an uninterrupted run writes. Unreadable images are reported by name
// and skipped. Decoding the next images (sharp, libuv threads) overlaps inference; at most
// `prefetch` decoded images wait in memory, whatever the list length.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { camLabelMap, multiScaleCams, type MultiScaleOptions } from '../cam/multiscale-cams.ts';
import { pixelsToPlanarRgb } from '../preprocess.ts';
import type { OpenModel } from '../session.ts';
import { removeStaleTempFiles, writeFileAtomic } from './atomic-write.ts';
import { encodeNpy } from './npy.ts';
import { encodeIndexedPng } from './palette-png.ts';
import { Progress } from './progress.ts';
import { decodeImageFile, ImageDecodeError } from './decode-image.ts';

export interface PseudoLabelItem {
  id: string;
  imagePath: string;
  /** 0-based foreground classes present (image-level labels), when known. */
  labels?: number[];
}

export interface PseudoLabelOptions {
  outDir: string;
  multiScale: MultiScaleOptions;
  bgThreshold: number;
  /** Keep only the image's labelled classes (needs item.labels). */
  useImageLabels: boolean;
  /** Write the CAMs (.npy) next to the labels (default true). */
  writeCams?: boolean;
  prefetch?: number;
  progress?: boolean;
}

export interface PseudoLabelFailure {
  id: string;
  file: string;
  reason: string;
}

export interface PseudoLabelSummary {
  images: number;
  processed: number;
  skipped_existing: number;
  failed: number;
  failures: PseudoLabelFailure[];
  images_per_second: number;
  seconds: number;
  provider: string;
  scales: number[];
  merge_rule: string;
  bg_threshold: number;
  out: string;
}

export function labelPath(outDir: string, id: string): string {
  return join(outDir, 'labels', `${id}.png`);
}
export function camPath(outDir: string, id: string): string {
  return join(outDir, 'cams', `${id}.npy`);
}

type Decoded = { item: PseudoLabelItem; planes?: { data: Float32Array; height: number; width: number }; error?: string };

async function decodeItem(item: PseudoLabelItem): Promise<Decoded> {
  try {
    const px = await decodeImageFile(item.imagePath);
    return { item, planes: { data: pixelsToPlanarRgb(px), height: px.height, width: px.width } };
  } catch (e) {
    // The shared decoder's reason (the file name goes into the failure record separately).
    return { item, error: e instanceof ImageDecodeError ? e.reason : (e as Error).message };
  }
}

/** Yields decoded items in order while keeping up to `depth` decodes in flight. */
async function* prefetched(items: PseudoLabelItem[], depth: number): AsyncGenerator<Decoded> {
  const queue: Promise<Decoded>[] = [];
  let next = 0;
  while (next < items.length && queue.length < depth) queue.push(decodeItem(items[next++]));
  while (queue.length) {
    const d = await queue.shift()!;
    if (next < items.length) queue.push(decodeItem(items[next++]));
    yield d;
  }
}

export async function pseudoLabel(model: OpenModel, items: PseudoLabelItem[], o: PseudoLabelOptions): Promise<PseudoLabelSummary> {
  const writeCams = o.writeCams ?? true;
  for (const sub of ['labels', 'cams']) removeStaleTempFiles(join(o.outDir, sub));
  const todo = items.filter((it) => !(existsSync(labelPath(o.outDir, it.id)) && (!writeCams || existsSync(camPath(o.outDir, it.id)))));
  const skipped = items.length - todo.length;
  const progress = o.progress === false ? null : new Progress({ total: items.length, label: 'pseudo-label', unit: 'img', startAt: skipped });
  const failures: PseudoLabelFailure[] = [];
  const t0 = performance.now();
  let processed = 0;
  const pendingWrites = new Set<Promise<void>>();
  const run = (input: { data: Float32Array; dims: number[] }) => model.run({ image: input });

  for await (const d of prefetched(todo, o.prefetch ?? 4)) {
    const { item } = d;
    if (d.error || !d.planes) {
      failures.push({ id: item.id, file: item.imagePath, reason: d.error ?? 'not decoded' });
      progress?.tick(1, { failed: failures.length });
      continue;
    }
    try {
      const cams = await multiScaleCams(run, d.planes, o.multiScale);
      let keep: number[] | undefined;
      if (o.useImageLabels) {
        if (!item.labels) throw new Error('--use-image-labels: no image-level labels for this image');
        keep = item.labels;
      }
      const labels = camLabelMap(cams, o.bgThreshold, keep);
      const png = encodeIndexedPng({ data: labels, width: cams.width, height: cams.height });
      // Labels last: its presence marks the image complete only once the CAMs are on disk.
      const write = (async () => {
        if (writeCams) await writeFileAtomic(camPath(o.outDir, item.id), encodeNpy([cams.classes, cams.height, cams.width], cams.cams));
        await writeFileAtomic(labelPath(o.outDir, item.id), png);
      })();
      pendingWrites.add(write);
      write.finally(() => pendingWrites.delete(write));
      if (pendingWrites.size > 8) await Promise.race(pendingWrites);
      processed++;
    } catch (e) {
      failures.push({ id: item.id, file: item.imagePath, reason: (e as Error).message });
    }
    progress?.tick(1, failures.length ? { failed: failures.length } : undefined);
  }
  await Promise.all(pendingWrites);
  progress?.finish();
  const seconds = (performance.now() - t0) / 1000;
  return {
    images: items.length,
    processed,
    skipped_existing: skipped,
    failed: failures.length,
    failures,
    images_per_second: seconds > 0 ? processed / seconds : 0,
    seconds,
    provider: model.provider,
    scales: o.multiScale.scales,
    merge_rule: o.multiScale.rule,
    bg_threshold: o.bgThreshold,
    out: o.outDir,
  };
}
