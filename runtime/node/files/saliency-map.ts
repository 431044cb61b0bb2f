// Saliency maps as `wsss pseudo-label --saliency` and `wsss segment --saliency` read them: one
// 8-bit grey (or palette) PNG per image, of the image's size, values 0..255.

import { readFileSync } from 'node:fs';
import { decodeLabelPng } from './palette-png.ts';

/** The saliency map of an image: an 8-bit grey (or palette) PNG of the image's size. */
export function readSaliencyMap(path: string, width: number, height: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`no saliency map ${path}`);
  }
  const sal = decodeLabelPng(bytes, path);
  if (sal.width !== width || sal.height !== height) throw new Error(`saliency map ${path} is ${sal.width}×${sal.height}, the image ${width}×${height}`);
  return sal.data;
}
