// The saliency input path, read alike by every consumer of saliency: `wsss pseudo-label
// --saliency DIR` (EDAM's Algorithm 1 with the model's rule, or Xu et al.'s --fuse-saliency /
// --saliency-only, also with --from-cams) and `wsss segment --saliency DIR`. A folder holds one
// 8-bit grey (or palette) PNG per image, <id>.png, of the image's size, values 0..255; the
// synthetic benchmark writes a data set's SaliencyMaps/, `wsss saliency` the same layout from
// any ONNX saliency model. Blocking read: it runs in the pseudo-labeller's worker threads.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLabelPng } from './palette-png.ts';

/** The folder of a VOC-layout data set that holds its saliency maps (the default source). */
export const SALIENCY_DIR = 'SaliencyMaps';

/** The saliency map of image `id` in folder `dir`. */
export function saliencyMapPath(dir: string, id: string): string {
  return join(dir, `${id}.png`);
}

/** The saliency map at `path` (width·height values in 0..255); errors name the file and the problem. */
export function readSaliencyMap(path: string, width: number, height: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`saliency map ${path}: ${code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
  const sal = decodeLabelPng(bytes, `saliency map ${path}`);
  if (sal.width !== width || sal.height !== height) throw new Error(`saliency map ${path} is ${sal.width}×${sal.height}, the image ${width}×${height}`);
  return sal.data;
}
