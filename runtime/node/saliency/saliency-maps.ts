// The saliency input path: a data set's SaliencyMaps/<id>.png (the synthetic benchmark writes
// them; `wsss saliency` writes the same layout from any ONNX saliency model), read as [0, 1]
// floats at the image's size. Kept in one place so every consumer of saliency (Algorithm 1 of
// the Grad-CAM method, EDAM's post-processing) reads it alike.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resizeBilinearCHW } from '../../resize.ts';
import { decodeLabelPng } from '../files/palette-png.ts';

/** The folder of a VOC-layout data set that holds its saliency maps. */
export const SALIENCY_DIR = 'SaliencyMaps';

export function saliencyMapPath(dir: string, id: string): string {
  return join(dir, `${id}.png`);
}

/**
 * The 8-bit grey PNG at `path` as saliency [height·width] in [0, 1], resized bilinearly
 * (half-pixel) when its size differs. Blocking read: it runs in the pseudo-labeller's worker
 * threads. Errors name the file and what is wrong with it.
 */
export function readSaliencyMapSync(path: string, height: number, width: number): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`saliency map ${path}: ${code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
  const img = decodeLabelPng(bytes, `saliency map ${path}`);
  const s = new Float32Array(img.width * img.height);
  for (let i = 0; i < s.length; i++) s[i] = img.data[i] / 255;
  if (img.width === width && img.height === height) return s;
  return resizeBilinearCHW(s, 1, img.height, img.width, height, width, false);
}
