// Decoding and encoding of RGB images with sharp, for data sets, the synthetic benchmark and
// reports. Images travel as 8-bit RGB, row-major HWC, which is what every other piece (the
// preprocessor, augmentation, the generator) works on.

import sharp from 'sharp';

export interface RgbImage {
  width: number;
  height: number;
  /** 3 bytes per pixel, row-major HWC. */
  data: Uint8Array;
}

/** An image file that cannot be decoded; the message names the file and the reason. */
export class ImageReadError extends Error {
  override name = 'ImageReadError';
}

/**
 * Decodes a JPEG/PNG/WebP file (or its bytes) to RGB. Grey images are expanded to three
 * channels and alpha is dropped. Truncated or corrupt files fail (sharp's "warning" level), so
 * a damaged JPEG is reported rather than silently half-grey.
 */
export async function decodeImageRgb(input: string | Uint8Array, name = typeof input === 'string' ? input : '<image>'): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input, { failOn: 'warning' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    const msg = (e as Error).message;
    if (/no such file|ENOENT|Input file is missing/i.test(msg)) throw new ImageReadError(`${name}: file not found`);
    throw new ImageReadError(`${name}: cannot decode image (${msg.replace(/\s+/g, ' ').trim()})`);
  }
}

/** Image size without decoding the pixels. */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path).metadata();
    if (!m.width || !m.height) throw new Error('no size in header');
    return { width: m.width, height: m.height };
  } catch (e) {
    throw new ImageReadError(`${path}: cannot read image header (${(e as Error).message})`);
  }
}

function checkRgb(img: RgbImage): void {
  if (img.data.length !== img.width * img.height * 3) throw new Error(`image buffer of ${img.data.length} bytes is not ${img.width}×${img.height} RGB`);
}

/**
 * Baseline JPEG with every option fixed (quality, 4:4:4 chroma so small coloured patterns keep
 * their colour, Huffman optimisation, no metadata), so equal pixels give equal bytes.
 */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Uint8Array> {
  checkRgb(img);
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:4:4', optimiseCoding: true, mozjpeg: false, progressive: false, trellisQuantisation: false, overshootDeringing: false, optimiseScans: false })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** PNG of an RGB image (reports). */
export async function encodePngRgb(img: RgbImage): Promise<Uint8Array> {
  checkRgb(img);
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** A `data:` URI for embedding a PNG/JPEG in a self-contained HTML page. */
export function dataUri(bytes: Uint8Array, mime: 'image/png' | 'image/jpeg'): string {
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
