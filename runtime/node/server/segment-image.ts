// Segmenting an encoded image in Node: decode with the shared decoder (decode-image.ts) into the
// same RGB pixels a browser's canvas gives, then the shared pipeline of runtime/segment.ts.

import { segmentPixels, type SegmentOptions, type Segmentation } from '../../segment.ts';
import type { OpenModel } from '../../session.ts';
import { decodeImageBytes, decodeImageFile } from '../dataset/decode-image.ts';

export { decodeImageBytes as decodeImage, ImageDecodeError, MAX_DECODED_PIXELS } from '../dataset/decode-image.ts';

/** Segments encoded image bytes; `name` identifies the image in errors. */
export async function segmentImageBytes(model: OpenModel, bytes: Uint8Array, name: string, options: SegmentOptions = {}): Promise<Segmentation> {
  return segmentPixels(model, await decodeImageBytes(bytes, name), options);
}

/** Segments an image file. */
export async function segmentImageFile(model: OpenModel, path: string, options: SegmentOptions = {}): Promise<Segmentation> {
  return segmentPixels(model, await decodeImageFile(path), options);
}
